// Owns POST /v1/commands: validate against the worker's registry, record the command (queued), and dispatch it to the worker's queue.
import { ConditionFailedError } from '../aws/errors.ts';
import { conditionalDelete, conditionalPut } from '../aws/conditionalWrite.ts';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import { countCommandEnded, countCommandStarted } from '../observability.ts';
import { WorkerNotFoundError } from '../workers/errors.ts';
import { loadWorkerForDispatch, presenceOf } from '../workers/records.ts';
import { PRESENCE } from '../workers/types.ts';
import { EVENT_RESEND_AFTER_MS, publishCompletion } from './completions.ts';
import type { CommandsContext } from './context.ts';
import { expiresAt } from './context.ts';
import { IdempotencyKeyReuseError } from './errors.ts';
import { commandIdFor } from './ids.ts';
import { asCommandItem } from './items.ts';
import type { CommandItem } from './items.ts';
import { commandKey, dueShardOf } from './keys.ts';
import { DEFAULT_DECODE_RC } from './results.ts';
import { COMMAND_STATUS, DEFAULT_TIMEOUTS, FAILURE_KINDS, FAILURE_RESULTS } from './types.ts';
import type { CommandFailure, Results } from './types.ts';
import { checkSecretReferences } from './secrets.ts';
import { dispatch } from './workerMessages.ts';
import type { StartCommandRequest } from './wire.ts';

/**
 * A repeat of an idempotency key re-sends the queue message only if the command is still queued this long
 * after it was recorded: concurrent repeats (the first request still sending) send nothing. @default 5000 ms
 */
export const REDISPATCH_AFTER_MS = 5_000;

/**
 * POST /v1/commands: record the command and put it on the worker's queue (or end it at once if offline).
 * `caller` is the calling token's identity (AuthorizerContext.caller): an idempotency key is scoped to it.
 */
export async function startCommand(
  ctx: CommandsContext,
  caller: string,
  request: StartCommandRequest,
): Promise<{ commandId: string }> {
  const worker = await loadWorkerForDispatch(ctx, request.worker, request.command);
  if (!worker) throw new WorkerNotFoundError(request.worker);
  // A worker that never heartbeated has no registry yet; its command ends as worker_lost_before_start below.
  if (worker.commands !== undefined && !worker.commands.includes(request.command))
    throw new ValidationError(
      `worker ${worker.name} has no command ${request.command}; it registered: ${worker.commands.join(', ') || '(none)'}`,
      { details: { path: 'command', registered: worker.commands } },
    );
  const argsJson = JSON.stringify(request.args);
  if (Buffer.byteLength(argsJson) > LIMITS.argsBytes)
    throw new PayloadTooLargeError(
      `args are ${Buffer.byteLength(argsJson)} bytes of JSON; the limit is ${LIMITS.argsBytes}`,
      {
        details: { limit: LIMITS.argsBytes },
      },
    );

  const secretNames = checkSecretReferences(request.args, request.secrets);

  const now = ctx.now();
  const commandId = commandIdFor(caller, request.idempotencyKey);
  const startTimeout = request.timeouts?.start ?? DEFAULT_TIMEOUTS.start;
  const heartbeatTimeout = request.timeouts?.heartbeat ?? DEFAULT_TIMEOUTS.heartbeat;
  const online = presenceOf(worker, now) === PRESENCE.online;
  let item: CommandItem = {
    ...commandKey(commandId),
    commandId,
    worker: worker.name,
    command: request.command,
    argsJson,
    decodeRC: request.decodeRC ?? DEFAULT_DECODE_RC,
    status: COMMAND_STATUS.queued,
    createdAt: now,
    startTimeoutMs: startTimeout * 1000,
    heartbeatTimeoutMs: heartbeatTimeout * 1000,
    acked: -1,
    ...(secretNames.length > 0 ? { secretNames: new Set(secretNames) } : {}),
    dueShard: dueShardOf(commandId),
    deadline: now + startTimeout * 1000,
  };
  if (!online) {
    const failure: CommandFailure = {
      kind: FAILURE_KINDS.worker_lost_before_start,
      message: `worker ${worker.name} is offline (last seen ${worker.lastSeenAt ? new Date(worker.lastSeenAt).toISOString() : 'never'})`,
    };
    item = endedItem(item, now, FAILURE_RESULTS[failure.kind], failure);
  }

  // Race: two requests with the same idempotency key (a client retry, or the same client in two processes).
  //   A: put(attribute_not_exists) ✓ → send          B: put(attribute_not_exists) ✗ → read A's record (ALL_OLD)
  // The first put wins and sends the one message; B answers A's commandId and sends nothing while A may
  // still be sending. Only a command still queued REDISPATCH_AFTER_MS after its put gets the message again
  // (A died between its put and its send); the claim turns any duplicate delivery into a 409.
  const recorded = await conditionalPut(ctx.db, {
    tableName: ctx.tableName,
    item,
    condition: { notRecorded: 'attribute_not_exists(pk)' },
    decode: asCommandItem,
  });
  if (!recorded.won) {
    const existing = recorded.old;
    if (!existing) throw new ConditionFailedError(`recording command ${commandId}`, recorded);
    if (!sameRequest(existing, item)) throw new IdempotencyKeyReuseError(commandId, existing);
    if (existing.status === COMMAND_STATUS.queued && now - existing.createdAt >= REDISPATCH_AFTER_MS)
      await dispatch(ctx, worker.queueUrl, existing, request.secrets);
    return { commandId };
  }
  if (!online) {
    countCommandStarted();
    countCommandEnded(item);
    await publishCompletion(ctx, item);
    return { commandId };
  }
  try {
    await dispatch(ctx, worker.queueUrl, item, request.secrets);
  } catch (error) {
    await withdrawUndispatched(ctx, item);
    throw error;
  }
  countCommandStarted();
  return { commandId };
}

/** JSON with sorted keys, so that two equal objects compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/** Whether a repeat of an idempotency key asks for the same command as the stored one. */
function sameRequest(existing: CommandItem, repeat: CommandItem): boolean {
  return (
    existing.worker === repeat.worker &&
    existing.command === repeat.command &&
    canonicalJson(JSON.parse(existing.argsJson)) === canonicalJson(JSON.parse(repeat.argsJson)) &&
    canonicalJson(existing.decodeRC) === canonicalJson(repeat.decodeRC) &&
    existing.startTimeoutMs === repeat.startTimeoutMs &&
    existing.heartbeatTimeoutMs === repeat.heartbeatTimeoutMs &&
    canonicalJson([...(existing.secretNames ?? [])].sort()) ===
      canonicalJson([...(repeat.secretNames ?? [])].sort())
  );
}

/**
 * The queue refused the message: remove the record this request just put, so that the client's retry
 * (with the same idempotency key) records and sends the command afresh instead of finding it sent.
 */
async function withdrawUndispatched(ctx: CommandsContext, item: CommandItem): Promise<void> {
  // Race: the command can only have moved if another request ended it meanwhile (an interrupt, the watchdog).
  //   this request: delete if queued ✓ → nothing left      interrupt: end if queued ✓ first → delete ✗, its outcome stays
  // No worker can have claimed it: no message was sent. A lost delete leaves the other request's outcome.
  await conditionalDelete(ctx.db, {
    tableName: ctx.tableName,
    key: commandKey(item.commandId),
    condition: { stillQueued: '#status = :queued' },
    names: { '#status': 'status' },
    values: { ':queued': COMMAND_STATUS.queued },
    decode: asCommandItem,
  });
}

/** The record of a command that ends as it is recorded (its worker is offline): complete, its event pending. */
function endedItem(item: CommandItem, now: number, results: Results, failure: CommandFailure): CommandItem {
  return {
    ...item,
    status: COMMAND_STATUS.complete,
    results,
    failure,
    completedAt: now,
    expiresAt: expiresAt(now),
    eventPending: true,
    deadline: now + EVENT_RESEND_AFTER_MS,
  };
}
