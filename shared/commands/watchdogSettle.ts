// Owns what the watchdog does with one due entry: read its record, judge it, end the command or move its deadline.
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { logger } from '../observability.ts';
import { loadWorkerRecord, presenceOf } from '../workers/records.ts';
import { PRESENCE } from '../workers/types.ts';
import type { WorkerItem } from '../workers/types.ts';
import type { CommandsContext } from './context.ts';
import { EVENT_RESEND_AFTER_MS, endCommand, publishCompletion } from './completions.ts';
import { isRecordFault } from './errors.ts';
import { asCommandItem, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import type { CommandFailure } from './types.ts';
import { ENTRY_ATTEMPTS, SETTLED_MEMORY_MAX, entryId } from './watchdogTypes.ts';
import type { DueEntry, ShardMemory, WatchdogReport } from './watchdogTypes.ts';

/** What one run shares between the entries it settles: its clock, the workers it read, its report. */
export interface RunState {
  now: number;
  workers: Map<string, Promise<WorkerItem | undefined>>;
  report: WatchdogReport;
}

/** Consistent reads of the entries' records, by pk; `unread` holds the pks DynamoDB left unprocessed. */
export async function batchRead(
  ctx: CommandsContext,
  entries: DueEntry[],
): Promise<{ items: Map<string, CommandItem>; unread: Set<string> }> {
  const items = new Map<string, CommandItem>();
  let pending: Record<string, NativeAttributeValue>[] = [
    ...new Map(entries.map((entry) => [entry.pk, { pk: entry.pk, sk: entry.sk }])).values(),
  ];
  // The index is eventually consistent; the record read here is the truth the condition then checks.
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const answer = await ctx.db.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of (answer.Responses?.[ctx.tableName] ?? []) as CommandItem[]) items.set(item.pk, item);
    pending = answer.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
  }
  return { items, unread: new Set(pending.map((key) => key.pk as string)) };
}

/**
 * settle() for one entry on its own: whatever goes wrong with this command (a record that does not decode,
 * a write DynamoDB refuses, a throttle) is logged and counted, and the run goes on with the other entries.
 * The entry stays unsettled (a later run tries again); a record at fault is given up after ENTRY_ATTEMPTS.
 */
export async function settleAlone(
  ctx: CommandsContext,
  memory: ShardMemory,
  raw: CommandItem,
  entry: DueEntry,
  run: RunState,
): Promise<boolean> {
  try {
    // Decoded before any decision or write: a malformed record is skipped, never half-ended.
    const item = asCommandItem({ ...raw });
    return await settle(ctx, item, entry, run);
  } catch (error) {
    run.report.failed++;
    const { failures } = memory;
    if (failures.size > SETTLED_MEMORY_MAX) failures.clear();
    const attempts = (failures.get(entryId(entry)) ?? 0) + 1;
    failures.set(entryId(entry), attempts);
    const givenUp = isRecordFault(error) && attempts >= ENTRY_ATTEMPTS;
    if (givenUp) failures.delete(entryId(entry));
    logger.error(
      givenUp ? 'watchdog gave up on a command; the cursor passes it' : 'watchdog skipped a command',
      {
        commandId: typeof raw.commandId === 'string' ? raw.commandId : entry.pk,
        shard: entry.shard,
        deadline: entry.deadline,
        attempts,
        error,
      },
    );
    return givenUp;
  }
}

/** The worker record, read once per run whatever the number of its commands judged at once. */
function workerOf(ctx: CommandsContext, run: RunState, name: string): Promise<WorkerItem | undefined> {
  let worker = run.workers.get(name);
  if (!worker) {
    worker = loadWorkerRecord(ctx, name);
    run.workers.set(name, worker);
  }
  return worker;
}

/**
 * Acts on one due entry whose record is `item`; true when the entry is settled (see watchdog.ts): the run
 * may pass it and no later run needs to read it.
 */
async function settle(
  ctx: CommandsContext,
  item: CommandItem,
  entry: DueEntry,
  run: RunState,
): Promise<boolean> {
  const { now, report } = run;
  // The record moved on (a heartbeat, a claim, an ending): its live entry is elsewhere on the index.
  if (item.deadline !== entry.deadline || item.dueShard !== entry.shard) return true;
  if (item.status === COMMAND_STATUS.complete) {
    if (!item.eventPending) return true;
    // The ending process sends and clears within moments (its deadline may already be due, see
    // resendDeadline): only a mark older than that means it died in between.
    if ((item.completedAt ?? 0) + EVENT_RESEND_AFTER_MS > now) return false;
    await publishCompletion(ctx, item);
    report.resent++;
    return true;
  }
  let failure: CommandFailure;
  if (item.status === COMMAND_STATUS.queued) {
    const worker = await workerOf(ctx, run, item.worker);
    failure =
      worker && presenceOf(worker, now) === PRESENCE.online
        ? {
            kind: FAILURE_KINDS.start_timeout,
            message: `worker ${item.worker} did not claim the command within ${item.startTimeoutMs / 1000} s`,
          }
        : {
            kind: FAILURE_KINDS.worker_lost_before_start,
            message: `worker ${item.worker} went offline before it claimed the command`,
          };
  } else {
    const silentUntil = (item.startedAt ?? 0) + item.heartbeatTimeoutMs;
    if (silentUntil > now) {
      const moved = await moveDeadline(ctx, item, silentUntil);
      if (moved) report.extended++;
      return moved;
    }
    failure = {
      kind: FAILURE_KINDS.worker_lost,
      message: `worker ${item.worker} sent no update or heartbeat for ${item.heartbeatTimeoutMs / 1000} s`,
    };
  }
  // endCommand publishes the event and clears its mark before it returns: the entry is then settled.
  if (!(await endCommand(ctx, item, item.status, failure))) return false;
  report.ended[failure.kind] = (report.ended[failure.kind] ?? 0) + 1;
  return true;
}

/** Moves a running command's deadline to `until`; false when another write changed the command first. */
async function moveDeadline(ctx: CommandsContext, item: CommandItem, until: number): Promise<boolean> {
  // Race: the worker completes, or an update refreshes the deadline, while the watchdog moves it.
  //   watchdog: set if running AND deadline = D ✓        worker: complete ✓ first → watchdog ✗, leaves it
  //   update: refresh deadline D → D' ✓ first            watchdog ✗: the command is alive, nothing to do
  // The first write wins; a deadline never moves back over a refresh, and a finished command keeps its own.
  // Only `deadline` is set: the entry moves within its shard, as every deadline write does.
  const outcome = await updateCommand(ctx, item.commandId, {
    update: 'SET deadline = :until',
    condition: { stillRunning: '#status = :running', deadlineAsRead: 'deadline = :read' },
    values: { ':until': until, ':running': COMMAND_STATUS.running, ':read': item.deadline ?? -1 },
  });
  return outcome.won;
}
