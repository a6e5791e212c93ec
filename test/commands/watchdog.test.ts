// The watchdog and its neighbours through the stack: a command's bill, endings found on the deadline index, deadlines that move only when they must, the DLQ, registration.
import assert from 'node:assert/strict';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { after, before, describe, it } from 'node:test';
import { dynamoDocumentClient, requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import { LEGACY_DUE_SHARD, watchdogCursorKey } from '../../shared/commands/keys.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import type { WorkerView } from '../../shared/workers/types.ts';
import { uniqueName } from '../support/api.ts';
import { ownStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { harness, lastResultOf, receiveOne } from './helpers.ts';

let stack: TestStack;
let h: ReturnType<typeof harness>;

before(async () => {
  // A stack of its own: the bill counts the handlers' writes, which only a stack in this process shows, and the
  // watchdog's runs read a deadline index and a cursor that no other file's commands may fill.
  stack = await ownStack();
  h = harness(stack);
  countCommandsTableWrites(stack.env.COMMANDS_TABLE!);
});

after(async () => {
  await stack?.release();
});

/**
 * The commands table's writes only: the lastResult consumer runs in this process too and writes the state
 * table (its object id, its state) while the command's own last write is still in flight.
 */
interface TableWrite {
  operation: string;
  units: number;
}
let commandWrites: TableWrite[] = [];

function countCommandsTableWrites(table: string): void {
  dynamoDocumentClient().middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { TableName?: string; Key?: { pk?: unknown }; Item?: { pk?: unknown } };
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity;
      // The watchdog's cursors (pk=WATCHDOG) are the stack's background, written once per shard at its first
      // tick and then once a busy minute, whatever this test's command does.
      const pk = (input.Key ?? input.Item)?.pk;
      if (
        input.TableName === table &&
        pk !== watchdogCursorKey(LEGACY_DUE_SHARD).pk &&
        consumed?.CapacityUnits !== undefined &&
        !/Get|Query/.test(String(context.commandName))
      )
        commandWrites.push({ operation: String(context.commandName), units: consumed.CapacityUnits });
      return result;
    },
    { step: 'initialize', name: 'billTestCommandWrites' },
  );
}

function commandsTableWrites(): { requests: Record<string, number>; writeUnits: number } {
  const requests: Record<string, number> = {};
  for (const write of commandWrites) requests[write.operation] = (requests[write.operation] ?? 0) + 1;
  return { requests, writeUnits: commandWrites.reduce((sum, write) => sum + write.units, 0) };
}

// First in the file: no earlier test leaves a deadline or an event that would add to the tally.
describe('the bill', () => {
  it('measures DynamoDB requests and write units of one trivial command', async (t) => {
    // Prepare
    const worker = await h.onlineWorker();
    resetRequestTally();
    commandWrites = [];
    // Act
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [
        [{ stdout: 'hi\n' }, 0],
        [{ rc: 0 }, 1],
      ],
    });
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 1 });
    const tally = requestTally();
    const writes = commandsTableWrites();
    // Assess
    t.diagnostic(`trivial command: ${JSON.stringify(tally)}; commands table: ${JSON.stringify(writes)}`);
    // Puts: the record and one update run. Updates: claim, ack, complete, clearing the event mark.
    assert.equal(writes.requests.PutItemCommand, 2);
    assert.equal(writes.requests.UpdateItemCommand, 4);
    assert.ok(writes.writeUnits <= 8, `expected at most 8 write units, saw ${writes.writeUnits}`);
  });

  it('takes 3 updates, 1 put and at most 6 write units when complete carries the last updates', async (t) => {
    // Prepare
    const worker = await h.onlineWorker();
    resetRequestTally();
    commandWrites = [];
    // Act
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
      lastSeq: 1,
      updates: [
        [{ stdout: 'hi\n' }, 0],
        [{ rc: 0 }, 1],
      ],
    });
    const writes = commandsTableWrites();
    // Assess
    t.diagnostic(`trivial command, updates on complete, commands table: ${JSON.stringify(writes)}`);
    // Writes: the record (3 WRU with its two index entries), the claim and the complete, which stores the
    // small final run on the record (neither moves the deadline: 1 WRU each), clearing the event mark
    // (1 WRU: the index entry stays).
    assert.equal(writes.requests.PutItemCommand, 1);
    assert.equal(writes.requests.UpdateItemCommand, 3);
    assert.ok(writes.writeUnits <= 6, `expected at most 6 write units, saw ${writes.writeUnits}`);
  });
});

describe('the watchdog', () => {
  it('ends an unclaimed command as start_timeout (RETRY) through the deadline index, never a Scan', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    resetRequestTally();
    // Act
    const commandId = await h.startCommand(worker, { timeouts: { start: 1 } });
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(event.results, RESULTS.RETRY);
    assert.equal(event.failure?.kind, 'start_timeout');
    const requests = requestTally().requests;
    assert.ok((requests['dynamodb:QueryCommand'] ?? 0) > 0);
    assert.deepEqual(
      Object.keys(requests).filter((key) => key.includes('Scan')),
      [],
    );
  });

  it('ends a silent running command as worker_lost (RETRY) and keeps its acked updates readable', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker, { timeouts: { heartbeat: 1 } });
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ stdout: 'before\n' }, 0]],
    });
    // Act
    const event = await lastResultOf(worker.name, commandId);
    const late = await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ stdout: 'late' }, 1]],
    });
    const updates = await h.call<{ updates: unknown[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/updates`,
    );
    // Assess
    assert.equal(event.results, RESULTS.RETRY);
    assert.equal(event.failure?.kind, 'worker_lost');
    assert.equal(late.status, 409);
    assert.deepEqual(updates.body.updates, [[{ stdout: 'before\n' }, 0]]);
  });

  it('keeps a running command alive through empty-batch heartbeats', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker, { timeouts: { heartbeat: 2 } });
    // Act: heartbeat every 0.5 s for 3 s, longer than the 2 s window
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const beat = await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, { updates: [] });
      assert.equal(beat.status, 200);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const view = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    // Assess
    assert.equal(view.body.status, 'running');
  });
});

describe('deadlines that move only when they must', () => {
  it('lets a command claimed late in its start window run a full heartbeat timeout before worker_lost', async () => {
    // Prepare: start and heartbeat timeouts equal, so the claim keeps the start deadline
    const worker = await h.onlineWorker();
    const commandId = await h.startCommand(worker, { timeouts: { start: 2, heartbeat: 2 } });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const message = await receiveOne(h.sqs, worker.queueUrl);
    assert.equal(message?.commandId, commandId);
    const claim = await h.call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    assert.equal(claim.status, 200);
    // Act: silent from the claim on; the start deadline passes about 1 s after it
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(event.failure?.kind, 'worker_lost');
    const silentMs = Date.parse(event.completedAt) - Date.parse(event.startedAt!);
    assert.ok(silentMs >= 2000, `ended after ${silentMs} ms of silence; the heartbeat timeout is 2000 ms`);
  });

  it('re-sends a completion event left pending only once its ending is 10 s old, then clears the mark', async () => {
    // Prepare: two complete commands whose ending process died before clearing the mark, one just now
    const worker = await h.onlineWorker();
    const fresh = await h.claimed(worker);
    const old = await h.claimed(worker);
    for (const commandId of [fresh, old])
      await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: -1 });
    const now = Date.now();
    for (const [commandId, completedAt] of [
      [fresh, now],
      [old, now - 20_000],
    ] as const)
      await h.db.send(
        new UpdateCommand({
          TableName: h.table,
          Key: { pk: `CMD#${commandId}`, sk: 'CMD' },
          UpdateExpression: 'SET eventPending = :true, dueShard = :due, deadline = :past, completedAt = :at',
          ExpressionAttributeValues: {
            ':true': true,
            ':due': 'DUE',
            ':past': now - 1000,
            ':at': completedAt,
          },
        }),
      );
    // Act: the local watchdog runs every second
    const cleared = await waitFor('the watchdog to clear the pending event', async () => {
      const { Item } = await h.db.send(
        new GetCommand({ TableName: h.table, Key: { pk: `CMD#${old}`, sk: 'CMD' }, ConsistentRead: true }),
      );
      return Item?.eventPending === undefined ? Item : undefined;
    });
    const { Item: pending } = await h.db.send(
      new GetCommand({ TableName: h.table, Key: { pk: `CMD#${fresh}`, sk: 'CMD' }, ConsistentRead: true }),
    );
    // Assess: the index entry stays (the watchdog's cursor passes it later)
    assert.equal(cleared.deadline, now - 1000);
    assert.equal(pending?.eventPending, true);
  });
});

describe('the dead-letter queue', () => {
  it('ends a command whose message was received 5 times without a claim as undeliverable (EXCEPTION)', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.startCommand(worker);
    // Act: receive without deleting; a 0 s visibility makes it visible again at once
    for (let i = 0; i < 5; i++) {
      const message = await receiveOne(h.sqs, worker.queueUrl, {
        keep: true,
        visibilityTimeout: 0,
        waitSeconds: 2,
      });
      assert.equal(message?.commandId, commandId);
    }
    await receiveOne(h.sqs, worker.queueUrl, { keep: true, visibilityTimeout: 0, waitSeconds: 1 });
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(event.results, RESULTS.EXCEPTION);
    assert.equal(event.failure?.kind, 'undeliverable');
  });
});

describe('worker registration', () => {
  it('registers, refuses a second registration (409), rotates the token and deletes the worker and its queue', async () => {
    // Prepare
    const name = uniqueName('reg');
    // Act
    const first = await h.call<{ token: string; queueUrl: string }>(
      stack.tokens.admin,
      'POST',
      '/v1/workers',
      { name },
    );
    const again = await h.call(stack.tokens.admin, 'POST', '/v1/workers', { name });
    const rotated = await h.call<{ token: string }>(stack.tokens.admin, 'POST', '/v1/workers', {
      name,
      rotate: true,
    });
    const oldToken = await h.call(first.body.token, 'POST', `/v1/workers/${name}/heartbeat`, {
      commands: ['shell'],
    });
    const newToken = await h.call(rotated.body.token, 'POST', `/v1/workers/${name}/heartbeat`, {
      commands: ['shell'],
    });
    const view = await h.call<WorkerView>(stack.tokens.client, 'GET', `/v1/workers/${name}`);
    const byClient = await h.call(stack.tokens.client, 'POST', '/v1/workers', { name: uniqueName('no') });
    const removed = await h.call(stack.tokens.admin, 'DELETE', `/v1/workers/${name}`);
    const gone = await h.call(stack.tokens.admin, 'GET', `/v1/workers/${name}`);
    const queue = h.sqs.send(
      new GetQueueUrlCommand({ QueueName: `${stack.env.WORKER_QUEUE_PREFIX}${name}` }),
    );
    // Assess
    assert.equal(first.status, 201);
    assert.match(first.body.queueUrl, new RegExp(`${name}$`));
    assert.equal(again.status, 409);
    assert.equal(rotated.status, 201);
    assert.equal(oldToken.status, 401);
    assert.equal(newToken.status, 200);
    assert.equal(view.body.presence, 'online');
    assert.deepEqual(view.body.commands, ['shell']);
    assert.equal(byClient.status, 403);
    assert.equal(removed.status, 204);
    assert.equal(gone.status, 404);
    await assert.rejects(queue);
  });
});
