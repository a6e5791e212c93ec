import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import type { CommandsContext } from '../../shared/commands/context.ts';
import type { CommandItem } from '../../shared/commands/items.ts';
import { commandKey, updateBatchKey } from '../../shared/commands/keys.ts';
import { RECORD_CACHE, recentRecord, rememberRecord } from '../../shared/commands/recordCache.ts';
import { planRuns } from '../../shared/commands/runs.ts';
import { ownStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { harness } from './helpers.ts';

/**
 * The complete that follows a claim in the same process skips its read (recordCache.ts); a stale copy
 * (another instance moved the record) must still end the command as the current record says.
 */

describe('record cache (pure)', () => {
  let clock = 0;
  const ctx = { tableName: 'T', now: () => clock } as CommandsContext;
  const record = (commandId: string) => ({ commandId }) as CommandItem;

  it('gives a copy back until RECORD_CACHE.ttlMs has passed, then forgets it', () => {
    // Prepare
    clock = 1_000;
    rememberRecord(ctx, record('a'));
    // Act
    clock += RECORD_CACHE.ttlMs - 1;
    const fresh = recentRecord(ctx, 'a');
    clock += 1;
    const expired = recentRecord(ctx, 'a');
    // Assess
    assert.equal(fresh?.commandId, 'a');
    assert.equal(expired, undefined);
  });

  it('keeps at most RECORD_CACHE.maxEntries copies, dropping the oldest written first', () => {
    // Prepare
    clock = 50_000;
    rememberRecord(ctx, record('first'));
    rememberRecord(ctx, record('second'));
    rememberRecord(ctx, record('first')); // written again: now the newest
    // Act
    for (let i = 0; i < RECORD_CACHE.maxEntries - 1; i++) rememberRecord(ctx, record(`filler-${i}`));
    // Assess
    assert.equal(recentRecord(ctx, 'second'), undefined);
    assert.equal(recentRecord(ctx, 'first')?.commandId, 'first');
  });
});

describe('complete with the record this process last wrote', () => {
  let stack: TestStack;
  let h: ReturnType<typeof harness>;

  before(async () => {
    // A stack of its own: these tests count the handlers' requests, which only a stack in this process shows.
    // No watchdog runs during them: its reads would blur the counts.
    stack = await ownStack({ scheduleIntervalMs: 3_600_000 });
    h = harness(stack);
  });

  after(async () => {
    await stack?.release();
  });

  const completePath = (id: string) => `/v1/commands/${id}/complete`;

  it('ends a command claimed a moment ago without reading its record', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    resetRequestTally();
    // Act
    const done = await h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 0,
      updates: [[{ rc: 0 }, 0]],
    });
    // Assess
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.results, 0);
    const requests = requestTally().requests;
    assert.equal(requests['dynamodb:GetItemCommand'] ?? 0, 0);
    assert.equal(requests['dynamodb:UpdateItemCommand'], 2); // the ending write, then the event mark's clear
  });

  it('ends as CANCELLED when another instance flagged an interrupt after this process cached the record', async () => {
    // Prepare: the flag written behind this process's back, as the commands function on another instance would
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    await h.db.send(
      new UpdateCommand({
        TableName: h.table,
        Key: commandKey(commandId),
        UpdateExpression: 'SET interrupt = :interrupt',
        ExpressionAttributeValues: { ':interrupt': { why: 'elsewhere', at: Date.now() } },
      }),
    );
    // Act
    const done = await h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 0,
      updates: [[{ rc: 0 }, 0]],
    });
    // Assess
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.results, 6);
    const view = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    assert.equal(view.body.results, 6);
    assert.deepEqual(view.body.failure, { kind: 'interrupted', message: 'elsewhere' });
  });

  it('accepts the last updates when another instance stored earlier ones after this process cached the record', async () => {
    // Prepare: updates 0..1 stored and acked behind this process's back
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const earlier: [Record<string, unknown>, number][] = [
      [{ stdout: 'a\n' }, 0],
      [{ stdout: 'b\n' }, 1],
    ];
    const [run] = planRuns(earlier);
    await h.db.send(
      new PutCommand({
        TableName: h.table,
        Item: { ...updateBatchKey(commandId, 0), first: 0, last: 1, ...run!.encoded },
      }),
    );
    await h.db.send(
      new UpdateCommand({
        TableName: h.table,
        Key: commandKey(commandId),
        UpdateExpression: 'SET acked = :acked',
        ExpressionAttributeValues: { ':acked': 1 },
      }),
    );
    // Act: the worker completes with the one update it has not had acked
    const done = await h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 2,
      updates: [[{ rc: 0 }, 2]],
    });
    // Assess
    assert.equal(done.status, 200, done.text);
    const view = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    assert.equal(view.body.status, 'complete');
    assert.equal(view.body.acked, 2);
    assert.equal(view.body.rc, 0);
    const log = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdout`);
    assert.equal(log.text, 'a\nb\n');
  });
});
