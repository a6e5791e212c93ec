// Poison command records (planted in DynamoDB): the watchdog and the dead-letter consumer skip them, and an interrupt answers 409.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, it } from 'node:test';
import { handleDeadLetter } from '../../shared/commands/deadLetter.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { itemBytes } from '../../shared/commands/items.ts';
import { runWatchdog } from '../../shared/commands/watchdog.ts';
import { ENTRY_ATTEMPTS, newWatchdogMemory } from '../../shared/commands/watchdogTypes.ts';
import { commandKey, dueShardOf } from '../../shared/commands/keys.ts';
import { waitForCommand } from '../support/api.ts';
import { ownStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

// A stack of its own: its watchdog runs in this process every second, and the poison records planted
// here must not reach the watchdog of a stack that other test files share.
const t = commandsFixture(ownStack);

/** DynamoDB's item limit: 400 KB, names and values included. */
const ITEM_LIMIT_BYTES = 400 * 1024;

/** A queued command record of `worker`, due `dueAgoMs` ago, as start would write it. */
function queuedRecord(worker: string, dueAgoMs: number): Record<string, unknown> {
  const commandId = randomBytes(16).toString('hex');
  const now = Date.now();
  return {
    ...commandKey(commandId),
    commandId,
    worker,
    command: 'shell',
    argsJson: '{}',
    decodeRC: { '0': 0 },
    status: 'queued',
    createdAt: now - 60_000,
    startTimeoutMs: 1000,
    heartbeatTimeoutMs: 60_000,
    acked: -1,
    dueShard: dueShardOf(commandId),
    deadline: now - dueAgoMs,
  };
}

/**
 * A record just under the item limit (as a large decodeRC or many log names once made one): any ending
 * write, which adds results, times and the failure, is refused by DynamoDB.
 */
async function plantOversized(worker: string): Promise<string> {
  const record = queuedRecord(worker, 5000);
  let room = ITEM_LIMIT_BYTES - itemBytes(record) - 40;
  for (let attempt = 0; attempt < 8; attempt++, room -= 50) {
    try {
      const argsJson = JSON.stringify({ pad: 'x'.repeat(room - 12) });
      await t.h.db.send(new PutCommand({ TableName: t.h.table, Item: { ...record, argsJson } }));
      return record.commandId as string;
    } catch (error) {
      if ((error as Error).name !== 'ValidationException') throw error;
    }
  }
  throw new Error('could not plant a record near the item limit');
}

/** A record whose `acked` is text: nothing this code writes, and no decision may be taken on it. */
async function plantMalformed(worker: string): Promise<string> {
  const record = queuedRecord(worker, 4000);
  await t.h.db.send(new PutCommand({ TableName: t.h.table, Item: { ...record, acked: 'x' } }));
  return record.commandId as string;
}

async function storedRecord(commandId: string): Promise<Record<string, unknown>> {
  const { Item } = await t.h.db.send(
    new GetCommand({ TableName: t.h.table, Key: commandKey(commandId), ConsistentRead: true }),
  );
  return Item!;
}

describe('poison command records', () => {
  it('still ends other commands as start_timeout and worker_lost while poison records are due first', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const oversized = await plantOversized(worker.name);
    const malformed = await plantMalformed(worker.name);
    const running = await t.h.claimed(worker, { timeouts: { start: 1, heartbeat: 1 } });
    const queued = await t.h.startCommand(worker, { timeouts: { start: 1 } });
    // Act
    const lost = await waitForCommand(t.stack, running, undefined, 20_000);
    const timedOut = await waitForCommand(t.stack, queued, undefined, 20_000);
    // Assess
    assert.equal(lost.failure?.kind, 'worker_lost');
    assert.equal(timedOut.failure?.kind, 'start_timeout');
    assert.equal((await storedRecord(oversized)).status, 'queued', 'the oversized record is left as it was');
    assert.equal((await storedRecord(malformed)).status, 'queued', 'the malformed record is left as it was');
  });

  it('answers 409 command_record_unusable to an interrupt of a poison record, and changes nothing', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const oversized = await plantOversized(worker.name);
    const malformed = await plantMalformed(worker.name);
    // Act
    const answers = await Promise.all(
      [oversized, malformed].map((id) =>
        t.h.call(t.stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, { why: 'stop' }),
      ),
    );
    // Assess
    for (const answer of answers) {
      assert.equal(answer.status, 409, answer.text);
      assert.equal(answer.body.code, 'command_record_unusable');
    }
    assert.equal((await storedRecord(oversized)).status, 'queued');
    assert.equal((await storedRecord(malformed)).status, 'queued');
  });

  it('drops a dead-lettered message whose command record is poison instead of failing it for ever', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const ctx = commandsContextFromEnv();
    const outcomes = [];
    // Act
    for (const commandId of [await plantOversized(worker.name), await plantMalformed(worker.name)])
      outcomes.push(
        await handleDeadLetter(
          ctx,
          JSON.stringify({ type: 'command', commandId, command: 'shell', args: {}, heartbeatTimeout: 60 }),
        ),
      );
    // Assess
    assert.deepEqual(outcomes, ['recordUnusable', 'recordUnusable']);
  });

  it(`counts each poison record as failed in a run, and gives it up after ${ENTRY_ATTEMPTS} runs`, async () => {
    // Prepare: a memory of this test's own, apart from the stack's watchdog.
    const worker = await t.h.registeredWorker();
    await plantOversized(worker.name);
    await plantMalformed(worker.name);
    const memory = newWatchdogMemory();
    const ctx = commandsContextFromEnv();
    // Act
    const failed: number[] = [];
    for (let run = 0; run <= ENTRY_ATTEMPTS; run++) failed.push((await runWatchdog(ctx, memory)).failed);
    // Assess: every run completes; the poison records fail ENTRY_ATTEMPTS runs, then are passed.
    assert.ok(failed[0]! >= 2, JSON.stringify(failed));
    assert.equal(failed[ENTRY_ATTEMPTS - 1], failed[0], JSON.stringify(failed));
    assert.equal(failed[ENTRY_ATTEMPTS], 0, JSON.stringify(failed));
  });
});
