// Owns one watchdog run over one shard of dueByDeadline: its pages from the shard's cursor to now, and where the cursor may move.
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import * as LIMITS from '../limits.ts';
import type { CommandsContext } from './context.ts';
import { DUE_INDEX } from './keys.ts';
import { writeCursor } from './watchdogCursor.ts';
import { batchRead, settleAlone } from './watchdogSettle.ts';
import type { RunState } from './watchdogSettle.ts';
import { CURSOR_LAG_MS, CURSOR_PERSIST_STEP_MS, SETTLED_MEMORY_MAX, entryId } from './watchdogTypes.ts';
import type { DueEntry, ShardMemory, ShardReport } from './watchdogTypes.ts';

/** What a shard's run borrows from the whole run: a slot of the bounded concurrency, and whether time is up. */
export interface RunLimits {
  /** Runs `task` when one of the run's slots is free (LIMITS.watchdogConcurrency in all, across shards). */
  slot<T>(task: () => Promise<T>): Promise<T>;
  /** True once the run's budget is spent: no further page is read. */
  outOfTime(): boolean;
}

/**
 * Reads `shard` from its cursor (memory.passed, already set) to the run's now, a page at a time, settling
 * each page's entries in parallel (through limits.slot), until the shard is exhausted or time is up. Then
 * moves the cursor up to the first entry not settled, never past now - CURSOR_LAG_MS, and persists it when
 * it moved far enough (watchdog.ts gives the argument for each bound).
 */
export async function runShard(
  ctx: CommandsContext,
  shard: string,
  memory: ShardMemory,
  run: RunState,
  limits: RunLimits,
): Promise<ShardReport> {
  const { now, report } = run;
  const from = memory.passed ?? 0;
  let firstUnsettled: number | undefined;
  let passedEntries = 0;
  let scanned = 0;
  let startKey: Record<string, NativeAttributeValue> | undefined;
  let exhausted = false;
  let lastDeadline = from;
  while (!limits.outOfTime()) {
    const due = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :due AND deadline BETWEEN :from AND :now',
        ExpressionAttributeValues: { ':due': shard, ':from': from, ':now': now },
        Limit: LIMITS.watchdogPageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    report.pages++;
    const entries: DueEntry[] = (due.Items ?? []).map((key) => ({
      shard,
      pk: key.pk as string,
      sk: key.sk as string,
      deadline: key.deadline as number,
    }));
    scanned += entries.length;
    const unknown = entries.filter((entry) => !memory.settled.has(entryId(entry)));
    const { items, unread } =
      unknown.length > 0 ? await batchRead(ctx, unknown) : { items: new Map(), unread: new Set() };
    // Every entry of the page is judged at once (bounded by the run's slots); the cursor then looks at
    // them in index order, so the order they finished in does not matter.
    const settled = await Promise.all(
      entries.map(async (entry) => {
        if (memory.settled.has(entryId(entry))) return true;
        if (unread.has(entry.pk)) return false;
        const item = items.get(entry.pk);
        if (!item) return true; // the record is gone (TTL): nothing can need the watchdog
        report.examined++;
        const done = await limits.slot(() => settleAlone(ctx, memory, item, entry, run));
        if (done) memory.settled.set(entryId(entry), entry.deadline);
        return done;
      }),
    );
    entries.forEach((entry, i) => {
      lastDeadline = entry.deadline;
      if (settled[i]) passedEntries++;
      else firstUnsettled ??= entry.deadline;
    });
    startKey = due.LastEvaluatedKey;
    if (!startKey) {
      exhausted = true;
      break;
    }
  }
  report.scanned += scanned;
  const bounds = [now - CURSOR_LAG_MS, firstUnsettled ?? Infinity, exhausted ? Infinity : lastDeadline];
  const passed = Math.max(from, Math.min(...bounds));
  memory.passed = passed;
  for (const [id, deadline] of memory.settled) if (deadline < passed) memory.settled.delete(id);
  if (memory.settled.size > SETTLED_MEMORY_MAX) memory.settled.clear();
  // Persisted when it moved past entries (none is written while idle), and once for a shard that never had
  // a cursor: a fresh container would otherwise read it from the start of the index (cheap, but slow when
  // a backlog leaves it short of time, and its lag would read as the whole epoch).
  const firstCursor = (memory.persisted ?? 0) === 0;
  if ((passedEntries > 0 || firstCursor) && passed - (memory.persisted ?? 0) >= CURSOR_PERSIST_STEP_MS) {
    await writeCursor(ctx, shard, passed);
    memory.persisted = passed;
  }
  return { scanned, passed, exhausted };
}
