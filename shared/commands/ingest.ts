// Owns POST /v1/commands/{id}/updates: store each new update once (as runs), advance `acked`, and heartbeats.
import { ConditionFailedError } from '../aws/errors.ts';
import { conditionalPut } from '../aws/conditionalWrite.ts';
import { countUpdateBytes } from '../observability.ts';
import type { SequencedUpdate } from './apiTypes.ts';
import {
  checkConsecutive,
  checkLogNames,
  freshUpdates,
  summarizeUpdates,
  summaryChanges,
  updateExpression,
} from './batches.ts';
import type { CommandsContext } from './context.ts';
import { expiresAt } from './context.ts';
import { CommandNotFoundError, CommandStateError, UpdateGapError } from './errors.ts';
import { checkCommandId } from './ids.ts';
import { loadCommand, requireOwner, updateCommand } from './items.ts';
import type { CommandItem, UpdateBatchItem } from './items.ts';
import { updateBatchKey } from './keys.ts';
import { rememberRecord } from './recordCache.ts';
import {
  asStoredRun,
  encodeFragment,
  fragmentOfBody,
  isFragmentBatch,
  planRuns,
  runOutline,
} from './runs.ts';
import type { PlannedRun, StoredRun } from './runs.ts';
import { COMMAND_STATUS } from './types.ts';
import type { UpdatesResponse } from './wire.ts';
import { decodeObject, objectRun } from '../logs/objectRuns.ts';
import type { LogObjectInput } from '../logs/objectRuns.ts';

/** Refresh the heartbeat deadline only once half of the window has passed: most updates then cost no GSI write. */
function needsDeadlineRefresh(item: CommandItem, now: number): boolean {
  return item.deadline === undefined || now >= item.deadline - item.heartbeatTimeoutMs / 2;
}

function updatesResponse(item: CommandItem): UpdatesResponse {
  return item.interrupt
    ? { acked: item.acked, interrupt: { why: item.interrupt.why } }
    : { acked: item.acked };
}

function notRunning(item: CommandItem, wanted: string): CommandStateError {
  return new CommandStateError(item.commandId, item.status, wanted, { acked: item.acked });
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
  logObject?: LogObjectInput,
): Promise<UpdatesResponse> {
  checkCommandId(commandId);
  // A log object's updates come first: the text run the worker put in S3 (shared/logs/objectRuns.ts).
  const object = logObject && decodeObject(logObject);
  const outline = object?.outline ?? [];
  const all = outline.length > 0 ? [...outline, ...updates] : updates;
  checkConsecutive(all);
  const item = await loadCommand(ctx, commandId);
  requireOwner(item, workerName);
  if (item.status !== COMMAND_STATUS.running)
    throw notRunning(item, 'updates are accepted only while it runs');
  const fresh = freshUpdates(commandId, all, item.acked);
  if (fresh === undefined) return heartbeat(ctx, item);
  checkLogNames(item.logNames, summarizeUpdates(fresh));
  const objectLast = outline.length > 0 ? outline[outline.length - 1]![1] : -1;
  let plan: PlannedRun[];
  if (object && fresh[0]![1] <= objectLast) {
    const step = await objectRun(commandId, object, item.acked);
    // Nothing stored yet; the request still counts as a heartbeat (a slow upload must not look lost).
    if ('upload' in step) return { ...(await heartbeat(ctx, item)), upload: step.upload };
    plan = [step.run, ...planRuns(fresh.slice(outline.length))];
  } else {
    // Encode every run before the first write, so that a 413 stores nothing.
    plan =
      (fresh.length === all.length && !logObject ? planAsSent(updates, bodyText) : undefined) ??
      planRuns(fresh);
  }
  const stored = await storeRuns(ctx, commandId, fresh, plan, objectLast);
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

/**
 * Puts each run under UPD#<first seq>; returns every update now stored from acked + 1 on, in order.
 * `objectLast`: the updates up to this seq are a log object's, which only its own run can store.
 */
export async function storeRuns(
  ctx: CommandsContext,
  commandId: string,
  fresh: SequencedUpdate[],
  plan: PlannedRun[],
  objectLast = -1,
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
    const runItem: UpdateBatchItem = {
      ...updateBatchKey(commandId, first),
      first,
      last,
      ...run.encoded,
      expiresAt: expires,
    };
    const outcome = await conditionalPut<StoredRun>(ctx.db, {
      tableName: ctx.tableName,
      item: runItem,
      condition: { runAbsent: 'attribute_not_exists(pk)' },
      decode: asStoredRun,
    });
    if (outcome.won) {
      countUpdateBytes(run.encoded.bytes);
      stored.push(...fresh.slice(first - offset, last - offset + 1));
      continue;
    }
    const existing = outcome.old;
    if (!existing)
      throw new ConditionFailedError(`storing updates ${first}..${last} of ${commandId}`, outcome);
    stored.push(...runOutline(existing));
    const unstored = fresh.filter(([, seq]) => seq > existing.last);
    // A run an earlier request stored ends inside the log object: the object's other seqs are in S3 only.
    // Stop at what is stored; acked advances to it, and the worker sends the rest again as a new run.
    if (unstored.length > 0 && unstored[0]![1] <= objectLast) break;
    pending = planRuns(unstored);
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
  const changes = summaryChanges(summary);
  let item = read;
  // A lost race below means acked moved (to at most `last`) or the command ended; each retry sees a higher
  // acked, and three rounds cover every interleaving of the worker's one-in-flight request and its resends.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (item.acked >= last) return updatesResponse(item);
    checkLogNames(item.logNames, summary);
    const now = ctx.now();
    const sets = ['acked = :last', ...changes.sets];
    const values: Record<string, unknown> = {
      ':last': last,
      ':prev': item.acked,
      ':running': COMMAND_STATUS.running,
      ...changes.values,
    };
    if (needsDeadlineRefresh(item, now)) {
      sets.push('deadline = :deadline');
      values[':deadline'] = now + item.heartbeatTimeoutMs;
    }
    // Race: two requests advance the same command; the watchdog ends it as worker_lost.
    //   A: update if acked = 4 AND running ✓ (acked 9)     B: update if acked = 4 ✗ → sees acked 9 ≥ its last → ack
    //   watchdog: end if running AND deadline = D ✓        A: ✗ → 409, the command is complete (worker_lost)
    // The first write wins; acked never moves back and no update is acknowledged after the command ended.
    const outcome = await updateCommand(ctx, read.commandId, {
      update: updateExpression(sets, changes.adds),
      condition: { stillRunning: '#status = :running', ackedUnmoved: 'acked = :prev' },
      values,
    });
    if (outcome.won) {
      rememberRecord(ctx, outcome.item);
      return updatesResponse(outcome.item);
    }
    if (!outcome.old) throw new CommandNotFoundError(read.commandId);
    if (outcome.old.status !== COMMAND_STATUS.running)
      throw notRunning(outcome.old, 'updates are accepted only while it runs');
    item = outcome.old;
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
  const outcome = await updateCommand(ctx, item.commandId, {
    update: 'SET deadline = :deadline',
    condition: { stillRunning: '#status = :running', deadlineUnmoved: 'deadline = :read' },
    values: {
      ':deadline': now + item.heartbeatTimeoutMs,
      ':running': COMMAND_STATUS.running,
      ':read': item.deadline ?? -1,
    },
  });
  if (outcome.won) {
    rememberRecord(ctx, outcome.item);
    return updatesResponse(outcome.item);
  }
  if (!outcome.old) throw new CommandNotFoundError(item.commandId);
  // Another heartbeat refreshed it first: the command is alive, which is all this one wanted.
  if (outcome.old.status === COMMAND_STATUS.running) return updatesResponse(outcome.old);
  throw notRunning(outcome.old, 'it is no longer running');
}
