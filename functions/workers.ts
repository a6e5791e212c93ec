// Lambda for POST and GET /v1/workers, GET and DELETE /v1/workers/{name}: worker administration (admin tokens).
import { ForbiddenError } from '../shared/errors.ts';
import { requireRole } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { registerWorkerRequest, workerName } from '../shared/commands/wire.ts';
import { parse } from '../shared/schema.ts';
import { listWorkers } from '../shared/workers/list.ts';
import { deleteWorker, getWorker, registerWorker } from '../shared/workers/registry.ts';
import { parseListWorkersQuery } from '../shared/workers/wire.ts';
import { httpRouter } from './lib/http.ts';

/** Worker administration: register (or rotate a token), list, read presence, remove. */
export const handler = httpRouter({
  'POST /v1/workers': async (request) => {
    requireRole(request.principal, ROLES.admin);
    const body = parse(registerWorkerRequest, request.body);
    return { statusCode: 201, body: await registerWorker(commandsContextFromEnv(), body) };
  },

  // Admin and client tokens list (names and presence, no queue or token): a client picks the worker it runs on.
  'GET /v1/workers': async (request) => {
    requireRole(request.principal, ROLES.admin, ROLES.client);
    const query = parseListWorkersQuery(request.query);
    return { statusCode: 200, body: await listWorkers(commandsContextFromEnv(), query) };
  },

  'GET /v1/workers/{name}': async (request) => {
    const name = parse(workerName, request.params.name, 'name');
    const { principal } = request;
    if (principal.role === ROLES.worker && principal.worker !== name)
      throw new ForbiddenError(
        `this token belongs to worker ${principal.worker}; it may read only that worker`,
      );
    return { statusCode: 200, body: await getWorker(commandsContextFromEnv(), name) };
  },

  'DELETE /v1/workers/{name}': async (request) => {
    requireRole(request.principal, ROLES.admin);
    const name = parse(workerName, request.params.name, 'name');
    await deleteWorker(commandsContextFromEnv(), name);
    return { statusCode: 204 };
  },
});
