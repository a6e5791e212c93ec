// Owns POST /v1/commands/{id}/complete: store the final updates, compute results, and end the command in one conditional write.
import { countCommandEnded, countUpdateBytes } from '../observability.ts';
import { pushCompletion } from '../push/fastPath.ts';
import type { Condition, WriteOutcome } from '../aws/conditionalWrite.ts';
import type { CompleteOutcome, SequencedUpdate } from './apiTypes.ts';
import {
  checkConsecutive,
  checkLogNames,
  freshUpdates,
  summarizeUpdates,
  summaryChanges,
  updateExpression,
} from './batches.ts';
import { endingUpdate, publishCompletion } from './completions.ts';
import type { CommandsContext } from './context.ts';
import { CommandNotFoundError, CommandStateError, UpdateGapError } from './errors.ts';
import { checkCommandId } from './ids.ts';
import { RECORD_BILLED_BYTES, itemBytes, loadCommand, requireOwner, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { storeRuns } from './ingest.ts';
import { forgetRecord, recentRecord } from './recordCache.ts';
import { computeResults } from './results.ts';
import { compactRun, planRuns } from './runs.ts';
import type { PlannedRun } from './runs.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import type { CommandFailure } from './types.ts';
import type { CompleteRequest } from './wire.ts';

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
      countCommandEnded(ending.item);
      // The final run went in with the ending write (the runs storeFinalUpdates put were counted there).
      if (finalRun) countUpdateBytes(finalRun.encoded.bytes);
      // Subscribers hear of it first (shared/push/fastPath.ts; it never rejects), then the event goes out.
      // Not both at once: a watching client waits on the frame, the event's consumers (SQS → Lambda) do not,
      // and the SQS send's work beside the post held the frame back (locally, on the one event loop, 11–25 ms
      // from the ending write to the frame against 3–7 ms with the send after it). A command nobody watches
      // posts nothing, so its event is not delayed; a watched one's is by one post.
      await pushCompletion(ending.item);
      await publishCompletion(ctx, ending.item);
      return outcomeOf(ending.item);
    }
    if (!ending.old) throw new CommandNotFoundError(commandId);
    item = ending.old;
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
  const fresh = freshUpdates(item.commandId, updates, item.acked);
  if (fresh === undefined) return { stored: [] };
  checkLogNames(item.logNames, summarizeUpdates(fresh));
  // Encode every run before the first write, so that a 413 stores nothing.
  const plan = planRuns(fresh);
  if (plan.length === 1) {
    const finalRun = compactRun(plan[0]!);
    const { values } = workerEnding(ctx.now(), item, requestFailure, fresh, finalRun.last, finalRun);
    if (itemBytes(item) + itemBytes(values) <= RECORD_BILLED_BYTES) return { stored: fresh, finalRun };
  }
  return { stored: await storeRuns(ctx, item.commandId, fresh, plan) };
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
  const changes = summaryChanges(summary);
  sets.push('acked = :acked', ...changes.sets);
  Object.assign(values, { ':acked': acked }, changes.values);
  if (finalRun) {
    sets.push('finalRun = :finalRun');
    values[':finalRun'] = { first: finalRun.first, last: finalRun.last, ...finalRun.encoded };
  }
  return { expression: updateExpression(sets, changes.adds), values };
}

/**
 * The parts of the record an ending decided on, besides status and acked, as it read them: the deadline
 * (the pending deadline it keeps or moves) and whether an interrupt was flagged (CANCELLED or not).
 */
function decidedOn(item: CommandItem): { condition: Condition; values: Record<string, unknown> } {
  return {
    condition: {
      deadlineAsRead:
        item.deadline === undefined ? 'attribute_not_exists(deadline)' : 'deadline = :readDeadline',
      interruptAsRead:
        item.interrupt === undefined ? 'attribute_not_exists(interrupt)' : 'attribute_exists(interrupt)',
    },
    values: item.deadline === undefined ? {} : { ':readDeadline': item.deadline },
  };
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
): Promise<WriteOutcome<CommandItem>> {
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
  return updateCommand(ctx, item.commandId, {
    update: expression,
    condition: { stillRunning: '#status = :running', ackedUnmoved: 'acked = :prev', ...unchanged.condition },
    values: { ...values, ...unchanged.values, ':running': COMMAND_STATUS.running, ':prev': item.acked },
  });
}
