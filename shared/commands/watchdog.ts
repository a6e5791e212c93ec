// Owns the scheduled watchdog's run: every shard of dueByDeadline read within a time budget, overdue commands ended in parallel.
import * as LIMITS from '../limits.ts';
import { perObject } from '../memo.ts';
import { recordWatchdogLag } from '../observability.ts';
import type { CommandsContext } from './context.ts';
import { dueShards } from './keys.ts';
import { readCursors } from './watchdogCursor.ts';
import type { RunState } from './watchdogSettle.ts';
import { runShard } from './watchdogShard.ts';
import type { RunLimits } from './watchdogShard.ts';
import { CURSOR_LAG_MS, RUN_MARGIN_MS, newWatchdogMemory, shardMemory } from './watchdogTypes.ts';
import type { WatchdogMemory, WatchdogReport } from './watchdogTypes.ts';

/**
 * The scheduled watchdog: finds overdue commands through the sparse dueByDeadline index (access pattern 4,
 * a Query per shard, never a Scan) and ends each with the right failure, or re-sends a completion event left
 * pending (watchdogSettle.ts).
 *
 * The index is sharded: a command's entry lives under `DUE#<k>`, k a hash of its id (keys.ts, dueShardOf),
 * written with the record and never changed, since every later deadline write sets `deadline` only. Records
 * written before the sharding keep the legacy shard `DUE` the same way. Each shard is therefore an index of
 * its own, with a cursor of its own, and everything below holds per shard.
 *
 * A deadline is moved as rarely as possible (each move is a delete and a put on the index): a claim keeps
 * the start deadline, so a running command found due may have been claimed recently. The watchdog reads
 * the record anyway; it ends the command only when the heartbeat timeout has passed since its claim, and
 * otherwise moves its deadline to that moment (once per command, and only for commands still running then).
 *
 * Finished commands keep their index entry (completions.ts: removing it would cost a write per command),
 * so the watchdog keeps a cursor per shard: every entry of the shard with a deadline below `passed` is
 * settled, and a run queries only `passed <= deadline <= now` there. An entry is settled when nothing can
 * ever make it need the watchdog: its command is complete with the event mark cleared (final: nothing sets
 * the mark again), its record is gone, or its record's deadline (or shard) is no longer the entry's (the
 * command's live entry is elsewhere on the index).
 *
 * Why no entry that needs the watchdog is ever below its shard's cursor:
 *   - the cursor stops at the first entry of a run that is not settled (a young event mark, a lost race,
 *     a failure), and at the last entry read when the run's time ran out before the shard's end;
 *   - an entry that changes from settled to unsettled keeps its deadline only in one case: an ending keeps
 *     the deadline it read (resendDeadline). But an entry the cursor passed was settled when read, so that
 *     ending read a record already complete (no ending), or a deadline that had moved (the ending keeps
 *     the moved one, not this entry's);
 *   - every other write that makes an entry writes a new deadline no earlier than its writer's clock (start,
 *     heartbeat or re-send timeouts ahead, or the watchdog's own move past its now), in the shard the record
 *     already has, so the new entry is in the same shard. Such an entry could fall below the cursor only by
 *     being invisible to the query when a run passed its deadline: the writer's clock behind the watchdog's,
 *     or the index not yet updated (GSIs are eventually consistent). The cursor therefore never passes
 *     `now - CURSOR_LAG_MS`: an entry written within that margin is still queried.
 *
 * Throughput (docs/commands.md, "Watchdog throughput"): the shards are read at once, each a page after the
 * other; each page's entries are judged at once; at most LIMITS.watchdogConcurrency judgements (a read of a
 * worker, an ending write, an event send) are in flight in the whole run. A run reads pages until every
 * shard is exhausted or LIMITS.watchdogRunSeconds have passed (less when the function has less time left),
 * and then lets the judgements under way finish.
 */

const memoryOf = perObject<CommandsContext, WatchdogMemory>(() => newWatchdogMemory());

export interface WatchdogOptions {
  /** Milliseconds the run may read pages for. @default LIMITS.watchdogRunSeconds, less the function's margin */
  budgetMs?: number;
  /** Judgements in flight at once. @default LIMITS.watchdogConcurrency */
  concurrency?: number;
  /** The Lambda's remaining time, when run by one: the budget stops RUN_MARGIN_MS before the timeout. */
  remainingMs?: () => number;
}

/** A pool of `size` slots: a task waits for a free one. */
function slots(size: number): RunLimits['slot'] {
  let free = size;
  const waiting: (() => void)[] = [];
  return async function slot<T>(task: () => Promise<T>): Promise<T> {
    if (free > 0) free--;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
}

export async function runWatchdog(
  ctx: CommandsContext,
  memory: WatchdogMemory = memoryOf(ctx),
  opts: WatchdogOptions = {},
): Promise<WatchdogReport> {
  const startedAt = performance.now();
  const remaining = opts.remainingMs?.();
  const budgetMs = Math.min(
    opts.budgetMs ?? LIMITS.watchdogRunSeconds * 1000,
    remaining === undefined ? Infinity : remaining - RUN_MARGIN_MS,
  );
  const now = ctx.now();
  const shards = dueShards();
  const unknown = shards.filter((shard) => shardMemory(memory, shard).passed === undefined);
  if (unknown.length > 0) {
    const persisted = await readCursors(ctx, unknown);
    for (const shard of unknown) {
      const part = shardMemory(memory, shard);
      part.persisted = persisted.get(shard) ?? 0;
      // A cursor persisted by a container whose clock ran ahead must not blind this one to what is due
      // now: a run never starts past now - CURSOR_LAG_MS, the bound it would have kept itself.
      part.passed = Math.min(part.persisted, now - CURSOR_LAG_MS);
    }
  }
  const report: WatchdogReport = {
    examined: 0,
    ended: {},
    resent: 0,
    extended: 0,
    scanned: 0,
    passed: now,
    lagMs: 0,
    failed: 0,
    pages: 0,
    exhausted: true,
    tookMs: 0,
    shards: {},
  };
  const run: RunState = { now, workers: new Map(), report };
  const limits: RunLimits = {
    slot: slots(opts.concurrency ?? LIMITS.watchdogConcurrency),
    outOfTime: () => performance.now() - startedAt >= budgetMs,
  };
  const results = await Promise.all(
    shards.map((shard) => runShard(ctx, shard, shardMemory(memory, shard), run, limits)),
  );
  shards.forEach((shard, i) => {
    const result = results[i]!;
    report.shards[shard] = result;
    report.passed = Math.min(report.passed, result.passed);
    report.exhausted &&= result.exhausted;
  });
  report.lagMs = now - report.passed;
  report.tookMs = Math.round(performance.now() - startedAt);
  recordWatchdogLag(report.lagMs / 1000);
  return report;
}
