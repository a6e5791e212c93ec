// Lambda for the client routes of the commands API: start, read, list, interrupt.
import { requireRole } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { interruptCommand } from '../shared/commands/interrupt.ts';
import { getLog, getLogLinks } from '../shared/commands/logPages.ts';
import { getUpdates } from '../shared/commands/pagedReads.ts';
import { getCommand, listCommands } from '../shared/commands/recordReads.ts';
import { startCommand } from '../shared/commands/start.ts';
import {
  LOG_HEADERS,
  interruptRequest,
  parseAfterQuery,
  parseLogQuery,
  parseListCommandsQuery,
  startCommandRequest,
} from '../shared/commands/wire.ts';
import { logObjectStoreFromEnv } from '../shared/logs/objects.ts';
import { parse } from '../shared/schema.ts';
import type { HttpRequest } from './lib/http.ts';
import { httpRouter } from './lib/http.ts';

/** Client routes of the commands API: start, read, list, interrupt (client or admin tokens). */
function asClient(request: HttpRequest): void {
  requireRole(request.principal, ROLES.client, ROLES.admin);
}

export const handler = httpRouter({
  'POST /v1/commands': async (request) => {
    asClient(request);
    const body = parse(startCommandRequest, request.body);
    return {
      statusCode: 202,
      body: await startCommand(commandsContextFromEnv(), request.caller, body),
    };
  },

  'GET /v1/commands': async (request) => {
    asClient(request);
    return {
      statusCode: 200,
      body: await listCommands(commandsContextFromEnv(), parseListCommandsQuery(request.query)),
    };
  },

  'GET /v1/commands/{id}': async (request) => {
    asClient(request);
    return { statusCode: 200, body: await getCommand(commandsContextFromEnv(), request.params.id ?? '') };
  },

  'GET /v1/commands/{id}/updates': async (request) => {
    asClient(request);
    const after = parseAfterQuery(request.query);
    const page = await getUpdates(commandsContextFromEnv(), request.params.id ?? '', after, {
      compressed: request.answerEncoding !== undefined,
      objects: logObjectStoreFromEnv(),
    });
    return {
      statusCode: 200,
      json: page.json,
      incompressible: page.incompressible,
      base64: page.encoding === 'base64',
    };
  },

  'GET /v1/commands/{id}/logs/{name}': async (request) => {
    asClient(request);
    const { after, links } = parseLogQuery(request.query);
    const page = await getLog(
      commandsContextFromEnv(),
      request.params.id ?? '',
      request.params.name ?? '',
      after,
      {
        compressed: request.answerEncoding !== undefined,
        objects: logObjectStoreFromEnv(),
        links: links ? 'stop' : 'none',
      },
    );
    return {
      statusCode: 200,
      text: page.texts,
      incompressible: page.incompressible,
      base64: page.encoding === 'base64',
      headers: {
        [LOG_HEADERS.nextSeq]: String(page.nextSeq),
        [LOG_HEADERS.status]: page.status,
        [LOG_HEADERS.complete]: String(page.complete),
        ...(page.next === 'links' ? { [LOG_HEADERS.next]: page.next } : {}),
      },
    };
  },

  'GET /v1/commands/{id}/logs/{name}/links': async (request) => {
    asClient(request);
    const after = parseAfterQuery(request.query);
    const page = await getLogLinks(
      commandsContextFromEnv(),
      request.params.id ?? '',
      request.params.name ?? '',
      after,
      { compressed: request.answerEncoding !== undefined, objects: logObjectStoreFromEnv() },
    );
    return {
      statusCode: 200,
      json: page.json,
      incompressible: page.incompressible,
      base64: page.encoding === 'base64',
    };
  },

  'POST /v1/commands/{id}/interrupt': async (request) => {
    asClient(request);
    const { why } = parse(interruptRequest, request.body ?? {});
    return {
      statusCode: 200,
      body: await interruptCommand(commandsContextFromEnv(), request.params.id ?? '', why),
    };
  },
});
