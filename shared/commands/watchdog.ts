// Owns the scheduled watchdog: overdue commands found on the dueByDeadline index, ended with the right failure; pending events re-sent.
import { BatchGetCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { conditionalPut, itemDecoder } from '../aws/conditionalWrite.ts';
import * as LIMITS from '../limits.ts';
import { perObject } from '../memo.ts';
import { logger } from '../observability.ts';
import { loadWorkerRecord, presenceOf } from '../workers/records.ts';
import { PRESENCE } from '../workers/types.ts';
import type { WorkerItem } from '../workers/types.ts';
import type { CommandsContext } from './context.ts';
import { EVENT_RESEND_AFTER_MS, endCommand, publishCompletion } from './completions.ts';
import { isRecordFault } from './errors.ts';
import { DUE_INDEX, DUE_SHARD, watchdogCursorKey } from './keys.ts';
import { asCommandItem, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import type { CommandFailure } from './types.ts';

/**
 * The scheduled watchdog: finds overdue commands through the sparse dueByDeadline index (access pattern 4,
 * a Query, never a Scan) and ends each with the right failure, or re-sends a completion event left pending.
 *
 * A deadline is moved as rarely as possible (each move is a delete and a put on the index): a claim keeps
 * the start deadline, so a running command found due may have been claimed recently. The watchdog reads
 * the record anyway; it ends the command only when the heartbeat timeout has passed since its claim, and
 * otherwise moves its deadline to that moment (once per command, and only for commands still running then).
 *
 * Finished commands keep their index entry (completions.ts: removing it would cost a write per command),
 * so the watchdog keeps a cursor: every entry with a deadline below `passed` is settled, and a run queries
 * only `passed <= deadline <= now`. An entry is settled when nothing can ever make it need the watchdog:
 * its command is complete with the event mark cleared (final: nothing sets the mark again), its record is
 * gone, or its record's deadline is no longer the entry's (the command's live entry is elsewhere on the index).
 *
 * Why no entry that needs the watchdog is ever below the cursor:
 *   - the cursor stops at the first entry of a run that is not settled (a young event mark, a lost race);
 *   - an entry that changes from settled to unsettled keeps its deadline only in one case: an ending keeps
 *     the deadline it read (resendDeadline). But an entry the cursor passed was settled when read, so that
 *     ending read a record already complete (no ending), or a deadline that had moved (the ending keeps
 *     the moved one, not this entry's);
 *   - every other write that makes an entry writes a new deadline no earlier than its writer's clock (start,
 *     heartbeat or re-send timeouts ahead, or the watchdog's own move past its now). Such an entry could fall
 *     below the cursor only by being invisible to the query when a run passed its deadline: the writer's clock
 *     behind the watchdog's, or the index not yet updated (GSIs are eventually consistent). The cursor
 *     therefore never passes `now - CURSOR_LAG_MS`: an entry written within that margin is still queried.
 */

/**
 * How far the cursor stays behind the watchdog's clock: more than clock skew between Lambdas (Amazon Time
 * Sync keeps it under a millisecond) plus index propagation (under a second normally) can ever be. Settled
 * entries this recent are queried again on each run (keys only, about 70 bytes each) but read only once
 * per warm container (WatchdogMemory). @default 30 s
 */
export const CURSOR_LAG_MS = 30_000;
/**
 * The cursor is persisted once it has moved this far past entries since its last write (one write per
 * busy minute); a fresh container starts from the persisted one and reads again at most this much. @default 60 s
 */
export const CURSOR_PERSIST_STEP_MS = 60_000;
/** Settled entries remembered per container, beyond which the memory starts afresh (costing reads only). */
const SETTLED_MEMORY_MAX = 20_000;
/**
 * Runs in which one entry's record may be at fault (isRecordFault: it does not decode, or DynamoDB refuses
 * any write to it) before the cursor passes it as given up: such a record would otherwise hold the cursor,
 * and with it every later entry, for ever. Any other failure (a throttle, an outage) is skipped and tried
 * again on every run, never given up. @default 3
 */
export const ENTRY_ATTEMPTS = 3;

/** Failures per entry (pk#deadline), per memory: apart from WatchdogMemory so that it stays a cost-saver only. */
const failuresOf = perObject<WatchdogMemory, Map<string, number>>(() => new Map());

/**
 * What a warm container keeps between runs, per context (a Lambda's context lives as long as its container;
 * a test's context with a shifted clock gets its own). Only a cost-saver: the persisted cursor and the
 * records are the truth, and a fresh memory just reads more.
 */
export interface WatchdogMemory {
  /** The cursor as this container last computed it; undefined until read from the table. */
  passed?: number;
  /** The cursor as last written to (or read from) the table. */
  persisted?: number;
  /** Entries above the cursor found settled (pk#deadline → deadline): not read again. */
  settled: Map<string, number>;
}

const memoryOf = perObject<CommandsContext, WatchdogMemory>(() => ({ settled: new Map() }));

export interface WatchdogReport {
  /** Records read and judged (settled entries remembered from an earlier run are not read). */
  examined: number;
  ended: Record<string, number>;
  resent: number;
  /** Running commands found due before a heartbeat timeout had passed since their claim: deadline moved. */
  extended: number;
  /** Index entries returned by the queries (settled or not). */
  scanned: number;
  /** The cursor after the run. */
  passed: number;
  /** Entries whose command could not be judged or ended (logged and skipped; see ENTRY_ATTEMPTS). */
  failed: number;
}

interface DueEntry {
  pk: string;
  sk: string;
  deadline: number;
}

function entryId(entry: DueEntry): string {
  return `${entry.pk}#${entry.deadline}`;
}

export async function runWatchdog(
  ctx: CommandsContext,
  memory: WatchdogMemory = memoryOf(ctx),
): Promise<WatchdogReport> {
  const now = ctx.now();
  if (memory.passed === undefined) {
    memory.persisted = await readCursor(ctx);
    // A cursor persisted by a container whose clock ran ahead must not blind this one to what is due
    // now: a run never starts past now - CURSOR_LAG_MS, the bound it would have kept itself.
    memory.passed = Math.min(memory.persisted, now - CURSOR_LAG_MS);
  }
  const from = memory.passed;
  const report: WatchdogReport = {
    examined: 0,
    ended: {},
    resent: 0,
    extended: 0,
    scanned: 0,
    passed: from,
    failed: 0,
  };
  const workers = new Map<string, WorkerItem | undefined>();
  // The cursor may move up to the first entry not settled, and never past now - CURSOR_LAG_MS.
  let firstUnsettled: number | undefined;
  let passedEntries = 0;
  let startKey: Record<string, NativeAttributeValue> | undefined;
  let exhausted = false;
  let lastDeadline = from;
  for (let page = 0; page < LIMITS.watchdogPages; page++) {
    const due = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :due AND deadline BETWEEN :from AND :now',
        ExpressionAttributeValues: { ':due': DUE_SHARD, ':from': from, ':now': now },
        Limit: LIMITS.watchdogPageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    const entries = (due.Items ?? []).map((key) => ({
      pk: key.pk as string,
      sk: key.sk as string,
      deadline: key.deadline as number,
    }));
    report.scanned += entries.length;
    const unknown = entries.filter((entry) => !memory.settled.has(entryId(entry)));
    const { items, unread } = await batchRead(ctx, unknown);
    for (const entry of entries) {
      lastDeadline = entry.deadline;
      let settled = memory.settled.has(entryId(entry));
      if (!settled && !unread.has(entry.pk)) {
        const item = items.get(entry.pk);
        if (item) report.examined++;
        settled = item === undefined || (await settleAlone(ctx, memory, item, entry, now, workers, report));
        if (settled) memory.settled.set(entryId(entry), entry.deadline);
      }
      if (settled) passedEntries++;
      else firstUnsettled ??= entry.deadline;
    }
    startKey = due.LastEvaluatedKey;
    if (!startKey) {
      exhausted = true;
      break;
    }
  }
  const bounds = [now - CURSOR_LAG_MS, firstUnsettled ?? Infinity, exhausted ? Infinity : lastDeadline];
  const passed = Math.max(from, Math.min(...bounds));
  memory.passed = passed;
  report.passed = passed;
  for (const [id, deadline] of memory.settled) if (deadline < passed) memory.settled.delete(id);
  if (memory.settled.size > SETTLED_MEMORY_MAX) memory.settled.clear();
  if (passedEntries > 0 && passed - (memory.persisted ?? 0) >= CURSOR_PERSIST_STEP_MS) {
    await writeCursor(ctx, passed);
    memory.persisted = passed;
  }
  return report;
}

/** The persisted cursor, or 0 (the start of the index) when there is none yet. */
async function readCursor(ctx: CommandsContext): Promise<number> {
  const { Item } = await ctx.db.send(
    new GetCommand({ TableName: ctx.tableName, Key: watchdogCursorKey(), ConsistentRead: true }),
  );
  return typeof Item?.passed === 'number' ? Item.passed : 0;
}

/** The watchdog's cursor item (access pattern 8). */
interface CursorItem {
  pk: string;
  sk: string;
  passed: number;
}

const asCursorItem = itemDecoder<CursorItem>('watchdog cursor', {
  pk: 'string',
  sk: 'string',
  passed: 'number',
});

async function writeCursor(ctx: CommandsContext, passed: number): Promise<void> {
  // Race: two watchdog runs (overlapping schedules, two containers) persist their cursors.
  //   A: put passed=P1 if missing or below P1 ✓        B: put passed=P2 < P1 if below P2 ✗ (keeps P1)
  // The furthest cursor wins; each was valid when computed, and settled entries stay settled, so the
  // furthest one is valid too. The cursor never moves back.
  await conditionalPut(ctx.db, {
    tableName: ctx.tableName,
    item: { ...watchdogCursorKey(), passed },
    condition: { absentOrBehind: 'attribute_not_exists(pk) OR passed < :passed' },
    values: { ':passed': passed },
    decode: asCursorItem,
  });
}

/** Consistent reads of the entries' records, by pk; `unread` holds the pks DynamoDB left unprocessed. */
async function batchRead(
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
 * a write DynamoDB refuses, a throttle) is logged and counted, and the run goes on with the next entry.
 * The entry stays unsettled (a later run tries again); a record at fault is given up after ENTRY_ATTEMPTS.
 */
async function settleAlone(
  ctx: CommandsContext,
  memory: WatchdogMemory,
  raw: CommandItem,
  entry: DueEntry,
  now: number,
  workers: Map<string, WorkerItem | undefined>,
  report: WatchdogReport,
): Promise<boolean> {
  try {
    // Decoded before any decision or write: a malformed record is skipped, never half-ended.
    const item = asCommandItem({ ...raw });
    return await settle(ctx, item, entry.deadline, now, workers, report);
  } catch (error) {
    report.failed++;
    const failures = failuresOf(memory);
    if (failures.size > SETTLED_MEMORY_MAX) failures.clear();
    const attempts = (failures.get(entryId(entry)) ?? 0) + 1;
    failures.set(entryId(entry), attempts);
    const givenUp = isRecordFault(error) && attempts >= ENTRY_ATTEMPTS;
    if (givenUp) failures.delete(entryId(entry));
    logger.error(
      givenUp ? 'watchdog gave up on a command; the cursor passes it' : 'watchdog skipped a command',
      {
        commandId: typeof raw.commandId === 'string' ? raw.commandId : entry.pk,
        deadline: entry.deadline,
        attempts,
        error,
      },
    );
    return givenUp;
  }
}

/**
 * Acts on one due entry whose record is `item`; true when the entry is settled (see the top of the file):
 * the run may pass it and no later run needs to read it.
 */
async function settle(
  ctx: CommandsContext,
  item: CommandItem,
  entryDeadline: number,
  now: number,
  workers: Map<string, WorkerItem | undefined>,
  report: WatchdogReport,
): Promise<boolean> {
  // The record moved on (a heartbeat, a claim, an ending): its live entry is elsewhere on the index.
  if (item.deadline !== entryDeadline) return true;
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
    if (!workers.has(item.worker)) workers.set(item.worker, await loadWorkerRecord(ctx, item.worker));
    const worker = workers.get(item.worker);
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
  const outcome = await updateCommand(ctx, item.commandId, {
    update: 'SET deadline = :until',
    condition: { stillRunning: '#status = :running', deadlineAsRead: 'deadline = :read' },
    values: { ':until': until, ':running': COMMAND_STATUS.running, ':read': item.deadline ?? -1 },
  });
  return outcome.won;
}
