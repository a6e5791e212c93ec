// The watchdog's cursors over finished commands: events re-sent once, settled entries read once, a clock ahead clamped.
import assert from 'node:assert/strict';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, it } from 'node:test';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import type { CommandsContext } from '../../shared/commands/context.ts';
import { commandKey, dueShards, watchdogCursorKey } from '../../shared/commands/keys.ts';
import { runWatchdog } from '../../shared/commands/watchdog.ts';
import { CURSOR_LAG_MS, newWatchdogMemory } from '../../shared/commands/watchdogTypes.ts';
import { ownStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

// A stack of its own: these runs read every entry of the deadline index and persist cursors ahead of real
// time, which no other file's commands may meet.
const t = commandsFixture(ownStack);

// These watchdogs run minutes ahead and persist cursors ahead of real time, a clock skew far beyond
// CURSOR_LAG_MS; the stack's own watchdog is unaffected: it read the (then missing) cursors once, at its first tick.
describe('completion events, and the cursor over finished commands', () => {
  it('re-sends an unsent event, never a sent one, and then reads no finished command again', async () => {
    // Prepare: sent events (their marks cleared) and one whose ending process died before sending
    const worker = await t.h.onlineWorker();
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      const commandId = await t.h.claimed(worker);
      await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: -1 });
      sent.push(commandId);
    }
    const unsent = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', `/v1/commands/${unsent}/complete`, { lastSeq: -1 });
    const now = Date.now();
    // Due for the watchdogs below (2 min ahead), not for the stack's own (real time).
    await t.h.db.send(
      new UpdateCommand({
        TableName: t.h.table,
        Key: { pk: `CMD#${unsent}`, sk: 'CMD' },
        UpdateExpression: 'SET eventPending = :true, deadline = :due, completedAt = :at',
        ExpressionAttributeValues: { ':true': true, ':due': now + 60_000, ':at': now - 20_000 },
      }),
    );
    const real = commandsContextFromEnv();
    const later = (ms: number): CommandsContext => ({ ...real, now: () => Date.now() + ms });
    const warm = newWatchdogMemory();
    // Act: the first run reads every due entry; a second one in the same container, then one in a fresh container
    const first = await runWatchdog(later(120_000), warm);
    const again = await runWatchdog(later(121_000), warm);
    const fresh = await runWatchdog(later(121_000), newWatchdogMemory());
    const records = await Promise.all(
      [...sent, unsent].map(async (commandId) => {
        const { Item } = await t.h.db.send(
          new GetCommand({
            TableName: t.h.table,
            Key: { pk: `CMD#${commandId}`, sk: 'CMD' },
            ConsistentRead: true,
          }),
        );
        return Item;
      }),
    );
    // Assess
    assert.equal(first.resent, 1, JSON.stringify(first));
    assert.ok(first.examined >= 6, JSON.stringify(first));
    assert.deepEqual(
      records.map((item) => [item?.eventPending, typeof item?.deadline]),
      records.map(() => [undefined, 'number']),
    );
    assert.equal(again.examined, 0, JSON.stringify(again));
    assert.equal(again.resent, 0);
    // The fresh container starts from the persisted cursor, past every finished command: none is even queried.
    assert.equal(fresh.scanned, 0, JSON.stringify(fresh));
    assert.ok(fresh.passed >= now + 60_000, JSON.stringify(fresh));
  });

  it('does not start past its own clock when a cursor from a container whose clock ran ahead was persisted', async () => {
    // Prepare: a cursor 10 minutes ahead in the table, and a command whose start deadline (60 s) is due for
    // a container 75 s ahead, within CURSOR_LAG_MS of its clock, and not yet for the stack's own watchdog
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.startCommand(worker, { timeouts: { start: 60 } });
    const ahead: CommandsContext = { ...commandsContextFromEnv(), now: () => Date.now() + 75_000 };
    for (const shard of dueShards())
      await t.h.db.send(
        new PutCommand({
          TableName: t.h.table,
          Item: { ...watchdogCursorKey(shard), passed: Date.now() + 600_000 },
        }),
      );
    try {
      // Act: that container starts now, with no memory of its own
      const report = await runWatchdog(ahead, newWatchdogMemory());
      // Assess
      assert.ok(report.passed <= ahead.now() - CURSOR_LAG_MS, JSON.stringify(report));
      const { Item } = await t.h.db.send(
        new GetCommand({ TableName: t.h.table, Key: commandKey(commandId), ConsistentRead: true }),
      );
      // Ended by this run (75 s ahead, the worker also looks offline: worker_lost_before_start).
      assert.equal(Item?.status, 'complete');
      assert.ok(
        Object.values(report.ended).reduce((sum, count) => sum + count, 0) >= 1,
        JSON.stringify(report),
      );
    } finally {
      // A future cursor would blind a watchdog that starts later in this file (the clamp aside).
      for (const shard of dueShards())
        await t.h.db.send(new DeleteCommand({ TableName: t.h.table, Key: watchdogCursorKey(shard) }));
    }
  });

  it('does not pass an event mark younger than the re-send delay: a later run re-sends it', async () => {
    // Prepare: an ending process that died just now, before sending
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: -1 });
    const now = Date.now();
    await t.h.db.send(
      new UpdateCommand({
        TableName: t.h.table,
        Key: { pk: `CMD#${commandId}`, sk: 'CMD' },
        UpdateExpression: 'SET eventPending = :true, deadline = :due, completedAt = :at',
        ExpressionAttributeValues: { ':true': true, ':due': now + 200_000, ':at': now + 195_000 },
      }),
    );
    const real = commandsContextFromEnv();
    const memory = newWatchdogMemory();
    // Act: at 200 s the mark is 5 s old (a send may be under way); at 260 s it is 65 s old
    const early = await runWatchdog({ ...real, now: () => now + 200_000 }, memory);
    const late = await runWatchdog({ ...real, now: () => now + 260_000 }, memory);
    // Assess
    assert.equal(early.resent, 0);
    assert.ok(early.passed <= now + 200_000, JSON.stringify(early));
    assert.equal(late.resent, 1, JSON.stringify(late));
  });
});
