// The sharded deadline index and the watchdog that keeps up: every shard read, endings in parallel, a cursor per shard, the lag metric.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchGetCommand, BatchWriteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { after, before, describe, it } from 'node:test';
import { handler as watchdogHandler } from '../../functions/watchdog.ts';
import * as ENV from '../../shared/config.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import type { CommandsContext } from '../../shared/commands/context.ts';
import {
  DUE_SHARD_PREFIX,
  LEGACY_DUE_SHARD,
  commandKey,
  dueShardOf,
  dueShards,
  watchdogCursorKey,
} from '../../shared/commands/keys.ts';
import { runWatchdog } from '../../shared/commands/watchdog.ts';
import { CURSOR_LAG_MS, RUN_MARGIN_MS, newWatchdogMemory } from '../../shared/commands/watchdogTypes.ts';
import * as LIMITS from '../../shared/limits.ts';
import { METRIC_NAMES, flushMetrics } from '../../shared/observability.ts';
import { ownStack } from '../support/stack.ts';
import { lambdaContext, metricLines, printed } from '../functions/printed.ts';
import { commandsFixture } from './helpers.ts';

// A stack of its own whose scheduled watchdog never ticks (once an hour): every run here is the test's own,
// so the counts are exact. Each test runs its watchdog on a clock further ahead (TEST_CLOCKS), past the
// cursors the earlier tests persisted.
const t = commandsFixture(() => ownStack({ scheduleIntervalMs: 3_600_000 }));

const MINUTE = 60_000;

before(() => {
  process.env[ENV.powertoolsMetricsDisabled] = 'false';
});

after(() => {
  delete process.env[ENV.powertoolsMetricsDisabled];
});

/** A context whose clock runs `aheadMs` ahead of real time. */
function clockAhead(aheadMs: number): CommandsContext {
  return { ...commandsContextFromEnv(), now: () => Date.now() + aheadMs };
}

/** A random command id whose deadline entry falls in `shard`. */
function idInShard(shard: string): string {
  for (;;) {
    const id = randomBytes(16).toString('hex');
    if (dueShardOf(id) === shard) return id;
  }
}

/** A queued command record of `worker`, as start writes it, due at `deadline` on `shard`. */
function queuedRecord(
  worker: string,
  shard: string,
  deadline: number,
  commandId = shard === LEGACY_DUE_SHARD ? randomBytes(16).toString('hex') : idInShard(shard),
): Record<string, unknown> {
  return {
    ...commandKey(commandId),
    commandId,
    worker,
    command: 'shell',
    argsJson: '{}',
    decodeRC: { '0': 0 },
    status: 'queued',
    createdAt: deadline - MINUTE,
    startTimeoutMs: MINUTE,
    heartbeatTimeoutMs: MINUTE,
    acked: -1,
    dueShard: shard,
    deadline,
  };
}

async function plant(records: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < records.length; i += 25) {
    let pending = records.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (pending.length > 0) {
      const answer = await t.h.db.send(new BatchWriteCommand({ RequestItems: { [t.h.table]: pending } }));
      pending = (answer.UnprocessedItems?.[t.h.table] ?? []) as typeof pending;
    }
  }
}

async function statusOf(records: Record<string, unknown>[]): Promise<Record<string, number>> {
  const statuses: Record<string, number> = {};
  for (let i = 0; i < records.length; i += 100) {
    const keys = records.slice(i, i + 100).map((record) => commandKey(record.commandId as string));
    const answer = await t.h.db.send(
      new BatchGetCommand({ RequestItems: { [t.h.table]: { Keys: keys, ConsistentRead: true } } }),
    );
    for (const item of answer.Responses?.[t.h.table] ?? [])
      statuses[item.status as string] = (statuses[item.status as string] ?? 0) + 1;
  }
  return statuses;
}

async function persistedCursor(shard: string): Promise<number | undefined> {
  const { Item } = await t.h.db.send(
    new GetCommand({ TableName: t.h.table, Key: watchdogCursorKey(shard), ConsistentRead: true }),
  );
  return Item?.passed as number | undefined;
}

/** The most ending writes (UpdateItem on the commands table) in flight at once while `act` runs. */
async function peakUpdatesInFlight<T>(
  ctx: CommandsContext,
  act: () => Promise<T>,
): Promise<{ result: T; peak: number }> {
  let inFlight = 0;
  let peak = 0;
  const name = `peakUpdates${randomBytes(4).toString('hex')}`;
  ctx.db.middlewareStack.add(
    (next, context) => async (args) => {
      // The commands table's only: the completion consumer in this process writes the state table meanwhile.
      const table = (args.input as { TableName?: string }).TableName;
      if (context.commandName !== 'UpdateItemCommand' || table !== ctx.tableName) return next(args);
      inFlight++;
      peak = Math.max(peak, inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name },
  );
  try {
    return { result: await act(), peak };
  } finally {
    ctx.db.middlewareStack.remove(name);
  }
}

describe('the sharded deadline index', () => {
  it('spreads command ids evenly over the shards', () => {
    // Prepare
    const counts = new Map<string, number>();
    // Act
    for (let i = 0; i < 16_000; i++) {
      const shard = dueShardOf(randomBytes(16).toString('hex'));
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    // Assess: 1,000 a shard expected; a shard over 1,150 would take 15 % more of the load than its share
    assert.ok(LIMITS.dueShards >= 16);
    assert.deepEqual(
      [...counts.keys()].sort(),
      dueShards()
        .filter((s) => s !== LEGACY_DUE_SHARD)
        .sort(),
    );
    for (const [shard, count] of counts) assert.ok(count > 850 && count < 1150, `${shard}: ${count}`);
  });

  it('writes a started command on the shard of its id, never on the legacy one', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    // Act
    const commandId = await t.h.startCommand(worker);
    const { Item } = await t.h.db.send(
      new GetCommand({ TableName: t.h.table, Key: commandKey(commandId), ConsistentRead: true }),
    );
    // Assess
    assert.equal(Item?.dueShard, dueShardOf(commandId));
    assert.match(String(Item?.dueShard), /^DUE#\d+$/);
    // Ended now, so that the runs below, whose clocks run ahead, find it settled and end only their own.
    await t.h.call(t.stack.tokens.client, 'POST', `/v1/commands/${commandId}/interrupt`, { why: 'done' });
  });
});

describe('the watchdog over every shard', () => {
  it('ends 20 overdue commands on each of the 16 shards in one run, 32 endings at most in flight', async () => {
    // Prepare: an offline worker's queued commands, all due a minute before this run's clock
    const ctx = clockAhead(10 * MINUTE);
    const worker = await t.h.registeredWorker();
    const due = ctx.now() - MINUTE;
    const shards = dueShards().filter((shard) => shard !== LEGACY_DUE_SHARD);
    const records = shards.flatMap((shard) =>
      Array.from({ length: 20 }, (_, i) => queuedRecord(worker.name, shard, due + i)),
    );
    await plant(records);
    // Act
    const { result: report, peak } = await peakUpdatesInFlight(ctx, () =>
      runWatchdog(ctx, newWatchdogMemory()),
    );
    // Assess
    assert.equal(report.ended.worker_lost_before_start, records.length, JSON.stringify(report.ended));
    assert.equal(report.failed, 0);
    assert.ok(report.exhausted);
    // (A shard may hold one more entry: the command interrupted above, settled, read and passed.)
    for (const shard of shards) assert.ok(report.shards[shard]!.scanned >= 20, shard);
    assert.deepEqual(await statusOf(records), { complete: records.length });
    // Each ending is one UpdateItem, then the mark's clear: many at once, never more than the bound.
    assert.ok(peak > 1 && peak <= LIMITS.watchdogConcurrency, `peak in flight ${peak}`);
  });

  it('keeps a cursor per shard: a record that fails holds its own shard, and every other shard moves on', async () => {
    // Prepare: on one shard a record that does not decode (acked as text), due first, then a good one
    const ctx = clockAhead(20 * MINUTE);
    const worker = await t.h.registeredWorker();
    const due = ctx.now() - 2 * MINUTE;
    const [held, ...others] = dueShards().filter((shard) => shard !== LEGACY_DUE_SHARD);
    const poison = { ...queuedRecord(worker.name, held!, due), acked: 'x' };
    const good = [held!, ...others].map((shard) => queuedRecord(worker.name, shard, due + 1000));
    await plant([poison, ...good]);
    // Act
    const report = await runWatchdog(ctx, newWatchdogMemory());
    // Assess: the poison record is skipped, everything else ends; only the poison's shard stays behind it
    assert.equal(report.failed, 1);
    assert.equal(report.ended.worker_lost_before_start, good.length);
    assert.deepEqual(await statusOf([poison]), { queued: 1 });
    assert.equal(report.shards[held!]?.passed, due);
    assert.equal(await persistedCursor(held!), due);
    for (const shard of others) {
      const passed = report.shards[shard]!.passed;
      assert.ok(passed > due + 1000 && passed <= ctx.now() - CURSOR_LAG_MS, shard);
      assert.ok((await persistedCursor(shard))! > due, shard);
    }
    assert.equal(report.passed, due, 'the report names the furthest-behind cursor');
  });

  it('stops reading pages when its time is up, and the next run goes on from the cursor', async () => {
    // Prepare: 250 due commands on one shard (3 pages)
    const ctx = clockAhead(30 * MINUTE);
    const worker = await t.h.registeredWorker();
    const due = ctx.now() - MINUTE;
    const shard = `${DUE_SHARD_PREFIX}7`;
    const records = Array.from({ length: 250 }, (_, i) => queuedRecord(worker.name, shard, due + i));
    await plant(records);
    const memory = newWatchdogMemory();
    // Act: a run with no time left, then one with the whole budget
    const spent = await runWatchdog(ctx, memory, { budgetMs: 0 });
    const next = await runWatchdog(ctx, memory);
    // Assess
    assert.equal(spent.pages, 0);
    assert.equal(spent.exhausted, false);
    assert.deepEqual(spent.ended, {});
    assert.equal(next.ended.worker_lost_before_start, 250);
    assert.equal(next.shards[shard]?.scanned, 250);
    assert.ok(next.exhausted);
  });
});

describe('records written before the sharding', () => {
  it('are still ended through the legacy shard DUE, from the cursor the single-shard watchdog persisted', async () => {
    // Prepare: the pre-sharding cursor (sk=CURSOR) at `before`; one legacy entry below it (settled then: a
    // finished command) and one overdue queued command above it
    const ctx = clockAhead(40 * MINUTE);
    const worker = await t.h.registeredWorker();
    const before = ctx.now() - 5 * MINUTE;
    const settled = { ...queuedRecord(worker.name, LEGACY_DUE_SHARD, before - MINUTE), status: 'complete' };
    const overdue = queuedRecord(worker.name, LEGACY_DUE_SHARD, before + MINUTE);
    await plant([settled, overdue]);
    await t.h.db.send(
      new PutCommand({
        TableName: t.h.table,
        Item: { ...watchdogCursorKey(LEGACY_DUE_SHARD), passed: before },
      }),
    );
    // Act
    const report = await runWatchdog(ctx, newWatchdogMemory());
    // Assess
    assert.equal(watchdogCursorKey(LEGACY_DUE_SHARD).sk, 'CURSOR', "the single cursor's key, carried over");
    assert.equal(report.shards[LEGACY_DUE_SHARD]?.scanned, 1, 'only the entry above the carried-over cursor');
    assert.equal(report.ended.worker_lost_before_start, 1);
    assert.deepEqual(await statusOf([overdue]), { complete: 1 });
    assert.ok((await persistedCursor(LEGACY_DUE_SHARD))! > before);
  });
});

describe('the watchdog function', () => {
  it('publishes its cursor lag as an EMF metric on every run', async () => {
    // Prepare: what the runs above counted (they call runWatchdog, not the function) is written and dropped
    await printed(() => Promise.resolve(flushMetrics()));
    // Act
    const { result, lines } = await printed(() => watchdogHandler({}, lambdaContext('watchdog')));
    // Assess
    const [line] = metricLines(lines, METRIC_NAMES.watchdogCursorLag);
    assert.ok(line, `no ${METRIC_NAMES.watchdogCursorLag} line in ${JSON.stringify(lines)}`);
    const lag = line[METRIC_NAMES.watchdogCursorLag] as number;
    assert.equal(lag, result.lagMs / 1000);
    assert.ok(lag >= CURSOR_LAG_MS / 1000, `lag ${lag} s`);
    const directive = (line._aws as { CloudWatchMetrics: { Metrics: { Unit: string }[] }[] })
      .CloudWatchMetrics[0]!;
    assert.equal(directive.Metrics[0]?.Unit, 'Seconds');
  });

  it("has a timeout (serverless.yml) that holds a run's budget and its margin, within 60-120 s", () => {
    // Prepare
    const serverless = readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8');
    // Act
    const block = /\n {2}watchdog:\n((?: {4}.*\n|\s*\n)+)/.exec(serverless)?.[1] ?? '';
    const timeout = Number(/\n? {4}timeout: (\d+)/.exec(block)?.[1]);
    // Assess
    assert.ok(timeout >= 60 && timeout <= 120, `watchdog timeout ${timeout}`);
    assert.ok(LIMITS.watchdogRunSeconds + RUN_MARGIN_MS / 1000 <= timeout);
  });
});
