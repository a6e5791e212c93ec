import { createHash, randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ForbiddenError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { Role } from '../auth/types.ts';
import { WorkerNotFoundError } from '../workers/errors.ts';
import { sendWorkerMessage } from '../workers/queues.ts';
import { loadWorkerForDispatch, loadWorkerRecord, presenceOf } from '../workers/registry.ts';
import { PRESENCE } from '../workers/types.ts';
import type { CommandsContext } from './context.ts';
import { expiresAt } from './context.ts';
import { EVENT_RESEND_AFTER_MS, endCommand, endingUpdate, publishCompletion } from './completions.ts';
import {
  CommandNotFoundError,
  CommandStateError,
  IdempotencyKeyReuseError,
  UpdateGapError,
} from './errors.ts';
import { DUE_SHARD, commandKey, updateBatchKey } from './keys.ts';
import { RECORD_BILLED_BYTES, itemBytes, loadCommand, oldItemOf } from './items.ts';
import { forgetRecord, recentRecord, rememberRecord } from './recordCache.ts';
import type { CommandItem } from './items.ts';
import { DEFAULT_DECODE_RC, computeResults } from './results.ts';
import { COMMAND_STATUS, DEFAULT_TIMEOUTS, FAILURE_KINDS, FAILURE_RESULTS } from './types.ts';
import type { CommandFailure, Results } from './types.ts';
import {
  checkConsecutive,
  compactRun,
  decodeRun,
  encodeFragment,
  fragmentOfBody,
  isFragmentBatch,
  planRuns,
  summarizeUpdates,
  trimAcked,
} from './updates.ts';
import type { PlannedRun, SequencedUpdate, StoredRun } from './updates.ts';
import { LIMITS } from './wire.ts';
import type { ClaimResponse, CompleteRequest, StartCommandRequest, UpdatesResponse } from './wire.ts';

/**
 * The command lifecycle (DESIGN.md section 4): start, claim, updates, complete, interrupt. Each
 * transition is one conditional write on the command record; the race it settles is drawn above it.
 */

/** Ids are 32 hex digits; an idempotency key maps to the same id for the same caller role. */
export const COMMAND_ID_PATTERN = /^[0-9a-f]{32}$/;

export function commandIdFor(role: Role, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomBytes(16).toString('hex');
  return createHash('sha256').update(`${role}\n${idempotencyKey}`, 'utf8').digest('hex').slice(0, 32);
}

export function checkCommandId(commandId: string): void {
  if (!COMMAND_ID_PATTERN.test(commandId)) throw new CommandNotFoundError(commandId);
}

/** POST /v1/commands: record the command and put it on the worker's queue (or end it at once if offline). */
export async function startCommand(
  ctx: CommandsContext,
  role: Role,
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

  const now = ctx.now();
  const commandId = commandIdFor(role, request.idempotencyKey);
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
    dueShard: DUE_SHARD,
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
  try {
    await ctx.db.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = oldItemOf<CommandItem>(error);
    if (!existing) throw error;
    if (!sameRequest(existing, item)) throw new IdempotencyKeyReuseError(commandId, existing);
    if (existing.status === COMMAND_STATUS.queued && now - existing.createdAt >= REDISPATCH_AFTER_MS)
      await dispatch(ctx, worker.queueUrl, existing);
    return { commandId };
  }
  if (!online) {
    await publishCompletion(ctx, item);
    return { commandId };
  }
  try {
    await dispatch(ctx, worker.queueUrl, item);
  } catch (error) {
    await withdrawUndispatched(ctx, item);
    throw error;
  }
  return { commandId };
}

/**
 * A repeat of an idempotency key re-sends the queue message only if the command is still queued this long
 * after it was recorded: concurrent repeats (the first request still sending) send nothing. @default 5000 ms
 */
export const REDISPATCH_AFTER_MS = 5_000;

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
    existing.heartbeatTimeoutMs === repeat.heartbeatTimeoutMs
  );
}

/**
 * The queue refused the message: remove the record this request just put, so that the client's retry
 * (with the same idempotency key) records and sends the command afresh instead of finding it sent.
 */
async function withdrawUndispatched(ctx: CommandsContext, item: CommandItem): Promise<void> {
  // Race: the command can only have moved if another request ended it meanwhile (an interrupt, the watchdog).
  //   this request: delete if queued ✓ → nothing left      interrupt: end if queued ✓ first → delete ✗, its outcome stays
  // No worker can have claimed it: no message was sent.
  try {
    await ctx.db.send(
      new DeleteCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        ConditionExpression: '#status = :queued',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':queued': COMMAND_STATUS.queued },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

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

async function dispatch(ctx: CommandsContext, queueUrl: string, item: CommandItem): Promise<void> {
  await sendWorkerMessage(ctx, queueUrl, {
    type: 'command',
    commandId: item.commandId,
    command: item.command,
    args: JSON.parse(item.argsJson) as Record<string, unknown>,
    heartbeatTimeout: item.heartbeatTimeoutMs / 1000,
  });
}

function requireOwner(item: CommandItem, workerName: string): void {
  if (item.worker !== workerName)
    throw new ForbiddenError(`command ${item.commandId} belongs to worker ${item.worker}, not ${workerName}`);
}

/**
 * POST /v1/commands/{id}/start: queued → running, bound to the calling worker. One write, no read.
 *
 * The start deadline stays as the pending deadline when the start timeout is no longer than the heartbeat
 * timeout (the defaults): it then comes no later than a heartbeat deadline set now would, and leaving it
 * costs no index write (moving a GSI key is a delete and a put). The watchdog, which reads the record
 * anyway, then judges a running command by startedAt (and the deadline the updates refresh), see
 * watchdog.ts. A longer start timeout would leave the command unwatched too long: that claim moves it.
 */
export async function claimCommand(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
): Promise<ClaimResponse> {
  checkCommandId(commandId);
  const now = ctx.now();
  try {
    return claimResponse(await claimWrite(ctx, workerName, commandId, now, { moveDeadline: false }));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = oldItemOf<CommandItem>(error);
    if (!existing) throw new CommandNotFoundError(commandId);
    requireOwner(existing, workerName);
    if (existing.status !== COMMAND_STATUS.queued)
      throw new CommandStateError(
        commandId,
        existing.status,
        'only a queued command can be claimed; delete the message and run nothing',
      );
  }
  // Queued and ours: its start timeout is longer than its heartbeat timeout (or it changed meanwhile).
  try {
    return claimResponse(await claimWrite(ctx, workerName, commandId, now, { moveDeadline: true }));
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const existing = oldItemOf<CommandItem>(error);
    if (!existing) throw new CommandNotFoundError(commandId);
    throw new CommandStateError(
      commandId,
      existing.status,
      'only a queued command can be claimed; delete the message and run nothing',
    );
  }
}

async function claimWrite(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
  now: number,
  opts: { moveDeadline: boolean },
): Promise<CommandItem> {
  // Race: a duplicate SQS delivery (two pollers, or a redelivery) claims twice; an interrupt or the
  // watchdog ends the queued command at the same moment.
  //   claim A: update if status = queued ✓ → runs     claim B / interrupt / watchdog: condition ✗ → 409 / lost
  // The first write wins: exactly one claim runs the command, and a cancelled or timed-out command never runs.
  // Named parts: `claimable` (queued, this worker's); `keepsDeadline` (start timeout ≤ heartbeat timeout).
  const claimable = '#status = :queued AND worker = :worker';
  const keepsDeadline = 'startTimeoutMs <= heartbeatTimeoutMs';
  const { Attributes } = await ctx.db.send(
    new UpdateCommand({
      TableName: ctx.tableName,
      Key: commandKey(commandId),
      UpdateExpression: opts.moveDeadline
        ? 'SET #status = :running, startedAt = :now, deadline = heartbeatTimeoutMs + :now'
        : 'SET #status = :running, startedAt = :now',
      ConditionExpression: opts.moveDeadline ? claimable : `${claimable} AND ${keepsDeadline}`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':running': COMMAND_STATUS.running,
        ':queued': COMMAND_STATUS.queued,
        ':worker': workerName,
        ':now': now,
      },
      ReturnValues: 'ALL_NEW',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );
  rememberRecord(ctx, Attributes as CommandItem);
  return Attributes as CommandItem;
}

function claimResponse(item: CommandItem): ClaimResponse {
  return {
    commandId: item.commandId,
    command: item.command,
    args: JSON.parse(item.argsJson) as Record<string, unknown>,
    heartbeatTimeout: item.heartbeatTimeoutMs / 1000,
  };
}

/** Refresh the heartbeat deadline only once half of the window has passed: most updates then cost no GSI write. */
function needsDeadlineRefresh(item: CommandItem, now: number): boolean {
  return item.deadline === undefined || now >= item.deadline - item.heartbeatTimeoutMs / 2;
}

function updatesResponse(item: CommandItem): UpdatesResponse {
  return item.interrupt
    ? { acked: item.acked, interrupt: { why: item.interrupt.why } }
    : { acked: item.acked };
}

/**
 * POST /v1/commands/{id}/updates: store the new updates once, then advance `acked`. `bodyText` is the
 * request's JSON text: when the whole batch is new and fits one item, its fragment is stored as sent.
 */
export async function postUpdates(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
  updates: SequencedUpdate[],
  bodyText?: string,
): Promise<UpdatesResponse> {
  checkCommandId(commandId);
  checkConsecutive(updates);
  const item = await loadCommand(ctx, commandId);
  requireOwner(item, workerName);
  if (item.status !== COMMAND_STATUS.running)
    throw new CommandStateError(commandId, item.status, 'updates are accepted only while it runs', {
      acked: item.acked,
    });
  const trimmed = trimAcked(updates, item.acked);
  if (trimmed.kind === 'gap')
    throw new UpdateGapError(
      commandId,
      item.acked,
      `the batch starts at seq ${trimmed.firstSeq}, leaving a gap`,
    );
  if (trimmed.kind === 'nothingNew') return heartbeat(ctx, item);
  // Encode every run before the first write, so that a 413 stores nothing.
  const plan =
    (trimmed.updates.length === updates.length ? planAsSent(updates, bodyText) : undefined) ??
    planRuns(trimmed.updates);
  const stored = await storeRuns(ctx, commandId, trimmed.updates, plan);
  return advanceAck(ctx, item, stored);
}

/**
 * The batch as one run of the request's own text (no second serialization), when it fits one item and
 * holds no stretch of output long enough for a text run.
 */
function planAsSent(updates: SequencedUpdate[], bodyText: string | undefined): PlannedRun[] | undefined {
  const fragment = bodyText === undefined ? undefined : fragmentOfBody(bodyText);
  if (fragment === undefined || updates.length === 0 || !isFragmentBatch(updates)) return undefined;
  const outcome = encodeFragment(Buffer.from(fragment, 'utf8'));
  if (!outcome.fits) return undefined;
  return [{ first: updates[0]![1], last: updates[updates.length - 1]![1], encoded: outcome.encoded }];
}

/** Puts each run under UPD#<first seq>; returns every update now stored from acked + 1 on, in order. */
async function storeRuns(
  ctx: CommandsContext,
  commandId: string,
  fresh: SequencedUpdate[],
  plan: PlannedRun[],
): Promise<SequencedUpdate[]> {
  const stored: SequencedUpdate[] = [];
  const expires = expiresAt(ctx.now());
  const offset = fresh[0]![1];
  let pending = plan;
  // Each round stores or adopts at least one update, so the loop ends.
  while (pending.length > 0) {
    const [run, ...rest] = pending as [PlannedRun, ...PlannedRun[]];
    pending = rest;
    const { first, last } = run;
    // Race: the same batch is resent while the first request is still in flight (or died after its put).
    //   A: put UPD#5 [5..9] ✓ ........ advance acked 4 → 9
    //   B:       put UPD#5 [5..12] ✗ (ALL_OLD = A's run) → adopt [5..9], store [10..12] under UPD#10
    // The first put wins; the stored run is the truth and is never written twice, whoever then advances acked.
    try {
      await ctx.db.send(
        new PutCommand({
          TableName: ctx.tableName,
          Item: { ...updateBatchKey(commandId, first), first, last, ...run.encoded, expiresAt: expires },
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      stored.push(...fresh.slice(first - offset, last - offset + 1));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = oldItemOf<StoredRun>(error);
      if (!existing) throw error;
      stored.push(...decodeRun(existing));
      pending = planRuns(fresh.filter(([, seq]) => seq > existing.last));
    }
  }
  return stored;
}

async function advanceAck(
  ctx: CommandsContext,
  read: CommandItem,
  stored: SequencedUpdate[],
): Promise<UpdatesResponse> {
  const last = stored[stored.length - 1]![1];
  const summary = summarizeUpdates(stored);
  let item = read;
  // A lost race below means acked moved (to at most `last`) or the command ended; each retry sees a higher
  // acked, and three rounds cover every interleaving of the worker's one-in-flight request and its resends.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (item.acked >= last) return updatesResponse(item);
    const now = ctx.now();
    const sets = ['acked = :last'];
    const values: Record<string, unknown> = {
      ':last': last,
      ':prev': item.acked,
      ':running': COMMAND_STATUS.running,
    };
    for (const field of ['rc', 'elapsed', 'failure_reason'] as const) {
      if (summary[field] !== undefined) {
        sets.push(`${field} = :${field}`);
        values[`:${field}`] = summary[field];
      }
    }
    if (needsDeadlineRefresh(item, now)) {
      sets.push('deadline = :deadline');
      values[':deadline'] = now + item.heartbeatTimeoutMs;
    }
    let expression = `SET ${sets.join(', ')}`;
    if (summary.logNames.length > 0) {
      expression += ' ADD logNames :logNames';
      values[':logNames'] = new Set(summary.logNames);
    }
    // Race: two requests advance the same command; the watchdog ends it as worker_lost.
    //   A: update if acked = 4 AND running ✓ (acked 9)     B: update if acked = 4 ✗ → sees acked 9 ≥ its last → ack
    //   watchdog: end if running AND deadline = D ✓        A: ✗ → 409, the command is complete (worker_lost)
    // The first write wins; acked never moves back and no update is acknowledged after the command ended.
    try {
      const { Attributes } = await ctx.db.send(
        new UpdateCommand({
          TableName: ctx.tableName,
          Key: commandKey(read.commandId),
          UpdateExpression: expression,
          ConditionExpression: '#status = :running AND acked = :prev',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      rememberRecord(ctx, Attributes as CommandItem);
      return updatesResponse(Attributes as CommandItem);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = oldItemOf<CommandItem>(error);
      if (!current) throw new CommandNotFoundError(read.commandId);
      if (current.status !== COMMAND_STATUS.running)
        throw new CommandStateError(
          read.commandId,
          current.status,
          'updates are accepted only while it runs',
          {
            acked: current.acked,
          },
        );
      item = current;
    }
  }
  throw new UpdateGapError(read.commandId, item.acked, 'acked kept moving under this request');
}

/** An empty (or fully acknowledged) batch: refresh the heartbeat deadline when half of it has passed. */
async function heartbeat(ctx: CommandsContext, item: CommandItem): Promise<UpdatesResponse> {
  const now = ctx.now();
  if (!needsDeadlineRefresh(item, now)) return updatesResponse(item);
  // Race: the watchdog ends the command as worker_lost while this heartbeat refreshes its deadline.
  //   heartbeat: set deadline if running AND deadline = D ✓   watchdog: end if running AND deadline = D ✗
  // The first write wins. If the watchdog won, the heartbeat answers 409 and the worker stops the command.
  try {
    const { Attributes } = await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: 'SET deadline = :deadline',
        ConditionExpression: '#status = :running AND deadline = :read',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':deadline': now + item.heartbeatTimeoutMs,
          ':running': COMMAND_STATUS.running,
          ':read': item.deadline ?? -1,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    rememberRecord(ctx, Attributes as CommandItem);
    return updatesResponse(Attributes as CommandItem);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = oldItemOf<CommandItem>(error);
    if (!current) throw new CommandNotFoundError(item.commandId);
    // Another heartbeat refreshed it first: the command is alive, which is all this one wanted.
    if (current.status === COMMAND_STATUS.running) return updatesResponse(current);
    throw new CommandStateError(item.commandId, current.status, 'it is no longer running', {
      acked: current.acked,
    });
  }
}

/** The answer to complete (also to a repeat): the outcome as recorded. */
export interface CompleteOutcome {
  commandId: string;
  status: 'complete';
  results: Results;
  rc: number | null;
  failure: CommandFailure | null;
}

function outcomeOf(item: CommandItem): CompleteOutcome {
  return {
    commandId: item.commandId,
    status: 'complete',
    results: item.results!,
    rc: item.rc ?? null,
    failure: item.failure ?? null,
  };
}

/**
 * POST /v1/commands/{id}/complete: running → complete once every update up to lastSeq is stored. The
 * request may carry the last updates (`updates`, the format and seq rules of POST .../updates): they are
 * stored as a run, and `acked` advances in the ending write itself, so a short command reports with one
 * request instead of two. A repeat (the answer was lost) finds them stored, or the command complete.
 */
export async function completeCommand(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
  request: CompleteRequest,
): Promise<CompleteOutcome> {
  checkCommandId(commandId);
  checkConsecutive(request.updates ?? []);
  // The record this process wrote last (a short command's claim) saves the read; see recordCache.ts.
  const cached = recentRecord(ctx, commandId);
  forgetRecord(ctx, commandId);
  if (cached !== undefined) {
    try {
      return await completeFrom(ctx, workerName, request, cached);
    } catch (error) {
      // A refusal decided on a stale copy (acked moved, the command ended elsewhere): decide from a read.
      if (!(error instanceof UpdateGapError || error instanceof CommandStateError)) throw error;
    }
  }
  return completeFrom(ctx, workerName, request, await loadCommand(ctx, commandId));
}

/** completeCommand from `read`, a record read or last written by this process. */
async function completeFrom(
  ctx: CommandsContext,
  workerName: string,
  request: CompleteRequest,
  read: CommandItem,
): Promise<CompleteOutcome> {
  const { commandId } = read;
  const updates = request.updates ?? [];
  let item = read;
  requireOwner(item, workerName);
  // A lost race below means acked moved (another request stored these updates) or the command ended;
  // each round sees it further along, and three rounds cover the worker's one request in flight.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (item.status === COMMAND_STATUS.complete) return outcomeOf(item);
    if (item.status === COMMAND_STATUS.queued)
      throw new CommandStateError(commandId, item.status, 'claim it (POST .../start) before completing it');
    const { stored, finalRun } = await storeFinalUpdates(ctx, item, updates, request.failure);
    const acked = stored.length > 0 ? stored[stored.length - 1]![1] : item.acked;
    if (acked < request.lastSeq)
      throw new UpdateGapError(
        commandId,
        item.acked,
        `complete names lastSeq ${request.lastSeq} but updates are stored only up to ${acked}`,
      );
    const ending = await endByWorker(ctx, item, request.failure, stored, acked, finalRun);
    if (ending.won) {
      await publishCompletion(ctx, ending.item);
      return outcomeOf(ending.item);
    }
    item = ending.item;
  }
  throw new UpdateGapError(commandId, item.acked, 'acked kept moving under this complete');
}

/**
 * Stores the updates a complete carries that are not stored yet; returns every update stored after acked.
 * A single small run is not put but returned as `finalRun`, for the ending write to store on the record
 * (one write instead of two) when the record stays within RECORD_BILLED_BYTES.
 */
async function storeFinalUpdates(
  ctx: CommandsContext,
  item: CommandItem,
  updates: SequencedUpdate[],
  requestFailure: CompleteRequest['failure'],
): Promise<{ stored: SequencedUpdate[]; finalRun?: PlannedRun }> {
  if (updates.length === 0) return { stored: [] };
  const trimmed = trimAcked(updates, item.acked);
  if (trimmed.kind === 'gap')
    throw new UpdateGapError(
      item.commandId,
      item.acked,
      `the batch starts at seq ${trimmed.firstSeq}, leaving a gap`,
    );
  if (trimmed.kind === 'nothingNew') return { stored: [] };
  // Encode every run before the first write, so that a 413 stores nothing.
  const plan = planRuns(trimmed.updates);
  if (plan.length === 1) {
    const finalRun = compactRun(plan[0]!);
    const { values } = workerEnding(
      ctx.now(),
      item,
      requestFailure,
      trimmed.updates,
      finalRun.last,
      finalRun,
    );
    if (itemBytes(item) + itemBytes(values) <= RECORD_BILLED_BYTES)
      return { stored: trimmed.updates, finalRun };
  }
  return { stored: await storeRuns(ctx, item.commandId, trimmed.updates, plan) };
}

/** The worker's ending update: results, the summary of the final updates, acked, and the final run if inline. */
function workerEnding(
  now: number,
  item: CommandItem,
  requestFailure: CompleteRequest['failure'],
  stored: SequencedUpdate[],
  acked: number,
  finalRun: PlannedRun | undefined,
): { expression: string; values: Record<string, unknown> } {
  const summary = summarizeUpdates(stored);
  const interrupted = item.interrupt !== undefined;
  const failure: CommandFailure | undefined =
    requestFailure ??
    (item.interrupt ? { kind: FAILURE_KINDS.interrupted, message: item.interrupt.why } : undefined);
  const results = computeResults({
    interrupted,
    rc: summary.rc ?? item.rc,
    decodeRC: item.decodeRC,
    failure: requestFailure,
  });
  const { sets, values } = endingUpdate(now, { results, failure }, item.deadline);
  sets.push('acked = :acked');
  values[':acked'] = acked;
  for (const field of ['rc', 'elapsed', 'failure_reason'] as const) {
    if (summary[field] !== undefined) {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = summary[field];
    }
  }
  if (finalRun) {
    sets.push('finalRun = :finalRun');
    values[':finalRun'] = { first: finalRun.first, last: finalRun.last, ...finalRun.encoded };
  }
  let expression = `SET ${sets.join(', ')}`;
  if (summary.logNames.length > 0) {
    expression += ' ADD logNames :logNames';
    values[':logNames'] = new Set(summary.logNames);
  }
  return { expression, values };
}

/**
 * The condition that the parts of the record an ending decided on, besides status and acked, are as it
 * read them: the deadline (the pending deadline it keeps or moves) and whether an interrupt was flagged
 * (CANCELLED or not).
 */
function decidedOn(item: CommandItem): { condition: string; values: Record<string, unknown> } {
  const deadline =
    item.deadline === undefined
      ? { condition: 'attribute_not_exists(deadline)', values: {} }
      : { condition: 'deadline = :readDeadline', values: { ':readDeadline': item.deadline } };
  const interrupt =
    item.interrupt === undefined ? 'attribute_not_exists(interrupt)' : 'attribute_exists(interrupt)';
  return { condition: `${deadline.condition} AND ${interrupt}`, values: deadline.values };
}

/**
 * The worker's ending write, in one conditional update. Returns the ended record (won), or the current
 * one (ALL_OLD) when the race was lost; `finalRun` is stored with the winning write only.
 */
async function endByWorker(
  ctx: CommandsContext,
  item: CommandItem,
  requestFailure: CompleteRequest['failure'],
  stored: SequencedUpdate[],
  acked: number,
  finalRun: PlannedRun | undefined,
): Promise<{ won: boolean; item: CommandItem }> {
  const { expression, values } = workerEnding(ctx.now(), item, requestFailure, stored, acked, finalRun);
  const unchanged = decidedOn(item);
  // Race: the watchdog ends the command as worker_lost while the worker completes it; an updates request
  // (a resend) advances acked meanwhile.
  //   worker: end if running AND acked = A ✓ → its results   watchdog: end if running AND deadline = D ✗
  //   watchdog: end ✓ (worker_lost)                          worker: ✗ → answers the stored outcome
  //   updates: acked A → B ✓                                 worker: ✗ → reads acked B, decides again
  // The first write wins; the command has exactly one outcome and a repeated complete answers it again.
  // A losing write stores no finalRun; a resend that put a run of the same seqs before losing its ack to
  // this write leaves a duplicate that readers skip by seq. The write also requires the deadline and the
  // interrupt flag it decided on (decidedOn), so a stale copy of the record (recordCache.ts) loses too.
  try {
    const { Attributes } = await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: expression,
        ConditionExpression: `#status = :running AND acked = :prev AND ${unchanged.condition}`,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ...values,
          ...unchanged.values,
          ':running': COMMAND_STATUS.running,
          ':prev': item.acked,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { won: true, item: Attributes as CommandItem };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = oldItemOf<CommandItem>(error);
    if (!current) throw new CommandNotFoundError(item.commandId);
    return { won: false, item: current };
  }
}

export interface InterruptOutcome {
  commandId: string;
  status: CommandItem['status'];
  /** True when the command was (or already had been) interrupted; false when it had finished first. */
  interrupted: boolean;
}

export const DEFAULT_INTERRUPT_WHY = 'interrupted by a client';

/**
 * POST /v1/commands/{id}/interrupt. Queued: ends at once as CANCELLED. Running: flagged on the record (the
 * next updates ack carries it) and announced by a control message on the worker's queue, which its long
 * poll receives within a second. Complete: a no-op, as Buildbot's interrupt of an inactive command.
 */
export async function interruptCommand(
  ctx: CommandsContext,
  commandId: string,
  why: string = DEFAULT_INTERRUPT_WHY,
): Promise<InterruptOutcome> {
  checkCommandId(commandId);
  // Each lost race moves the command forward (queued → running → complete), so three rounds always end.
  for (let attempt = 0; attempt < 3; attempt++) {
    const item = await loadCommand(ctx, commandId);
    if (item.status === COMMAND_STATUS.complete)
      return {
        commandId,
        status: item.status,
        interrupted: item.interrupt !== undefined || item.failure?.kind === FAILURE_KINDS.interrupted,
      };
    if (item.status === COMMAND_STATUS.queued) {
      const ended = await endCommand(ctx, item, COMMAND_STATUS.queued, {
        kind: FAILURE_KINDS.interrupted,
        message: why,
      });
      if (ended) return { commandId, status: ended.status, interrupted: true };
      continue;
    }
    if (item.interrupt) return { commandId, status: item.status, interrupted: true };
    if (await flagInterrupt(ctx, item, why)) {
      const worker = await loadWorkerRecord(ctx, item.worker);
      if (worker) await sendWorkerMessage(ctx, worker.queueUrl, { type: 'interrupt', commandId, why });
      return { commandId, status: item.status, interrupted: true };
    }
  }
  throw new CommandStateError(
    commandId,
    COMMAND_STATUS.running,
    'it changed state under three interrupt attempts',
  );
}

async function flagInterrupt(ctx: CommandsContext, item: CommandItem, why: string): Promise<boolean> {
  // Race: the worker completes while a client interrupts; two clients interrupt at once.
  //   client: flag if running AND no flag ✓        worker: complete ✓ first → client ✗ → re-reads, sees complete (no-op)
  // The first write wins; a command is flagged once, and a finished command is never flagged.
  try {
    await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: 'SET interrupt = :interrupt',
        ConditionExpression: '#status = :running AND attribute_not_exists(interrupt)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':interrupt': { why, at: ctx.now() },
          ':running': COMMAND_STATUS.running,
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
