// Lambda for the worker routes: heartbeat, claim (/start), updates, complete (worker tokens only).
import { requireRole, requireWorker } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import type { Principal } from '../shared/auth/types.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { claimCommand } from '../shared/commands/claim.ts';
import { completeCommand } from '../shared/commands/complete.ts';
import { postUpdates } from '../shared/commands/ingest.ts';
import { recentRecord } from '../shared/commands/recordCache.ts';
import { pushUpdates } from '../shared/push/fastPath.ts';
import {
  claimRequest,
  completeRequest,
  updatesRequest,
  workerHeartbeatRequest,
  workerName,
} from '../shared/commands/wire.ts';
import { logObjectStoreFromEnv } from '../shared/logs/objects.ts';
import { parse } from '../shared/schema.ts';
import * as LIMITS from '../shared/limits.ts';
import { credentialsVendorFromEnv } from '../shared/workers/credentials.ts';
import { recordHeartbeat } from '../shared/workers/heartbeat.ts';
import { httpRouter } from './lib/http.ts';

/**
 * Worker routes: heartbeat, claim, updates, complete. Worker tokens only, each bound to its worker. Their
 * bodies may inflate to LIMITS.workerBodyBytes (a burst of output in one request); the worker keeps each
 * under LIMITS.workerWireBytes compressed, so the Lambda payload limit holds. Updates and complete take a
 * text batch (shared/commands/textBatch.ts) as well as JSON.
 */
function callingWorker(principal: Principal): string {
  requireRole(principal, ROLES.worker);
  return principal.worker ?? '';
}

export const handler = httpRouter(
  {
    'POST /v1/workers/{name}/heartbeat': async (request) => {
      const name = parse(workerName, request.params.name, 'name');
      requireWorker(request.principal, name);
      const body = parse(workerHeartbeatRequest, request.body);
      const answer = await recordHeartbeat(commandsContextFromEnv(), name, body, credentialsVendorFromEnv());
      // The answer may carry credentials: no cache keeps a copy.
      return { statusCode: 200, headers: { 'cache-control': 'no-store' }, body: answer };
    },

    'POST /v1/commands/{id}/start': async (request) => {
      const worker = callingWorker(request.principal);
      const { claimToken } = parse(claimRequest, request.body ?? {});
      return {
        statusCode: 200,
        body: await claimCommand(commandsContextFromEnv(), worker, request.params.id ?? '', claimToken),
      };
    },

    'POST /v1/commands/{id}/updates': async (request) => {
      const worker = callingWorker(request.principal);
      const { updates, object } = parse(updatesRequest, request.body);
      const id = request.params.id ?? '';
      const ctx = commandsContextFromEnv();
      const answer = await postUpdates(
        ctx,
        worker,
        id,
        updates,
        request.bodyText,
        object && { ref: object, store: logObjectStoreFromEnv() },
      );
      // The fast path: this command's subscribers get the stored updates now (shared/push/fastPath.ts), with
      // no Query when the record the ingest just wrote says nobody watches it.
      await pushUpdates(id, updates, answer.acked, recentRecord(ctx, id));
      return { statusCode: 200, body: answer };
    },

    'POST /v1/commands/{id}/complete': async (request) => {
      const worker = callingWorker(request.principal);
      const body = parse(completeRequest, request.body);
      return {
        statusCode: 200,
        body: await completeCommand(commandsContextFromEnv(), worker, request.params.id ?? '', body),
      };
    },
  },
  { maxBodyBytes: LIMITS.workerBodyBytes, textBatch: true },
);
