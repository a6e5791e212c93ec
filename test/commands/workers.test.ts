import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import type { CommandsContext } from '../../shared/commands/context.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import type { CommandView } from '../../shared/commands/wire.ts';
import { runWatchdog } from '../../shared/commands/watchdog.ts';
import { recordHeartbeat } from '../../shared/workers/heartbeat.ts';
import { workerRegistryKey } from '../../shared/workers/keys.ts';
import { WORKER_CACHE_MS, loadWorkerForDispatch } from '../../shared/workers/records.ts';
import { deleteWorker } from '../../shared/workers/registry.ts';
import type { WorkerView } from '../../shared/workers/types.ts';
import { OFFLINE_AFTER_MS } from '../../shared/workers/types.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { RequestCounter } from '../../shared/aws/requestCounter.ts';
import { ownStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

// A stack of its own: the heartbeat tests count the handlers' requests, which only a stack in this process shows.
// The watchdog's schedule held off: its runs (a Query and a cursor PutItem per shard) fall into the tally's
// window whenever a loaded machine delays them, which a clean-clone CI run saw (17 writes in two heartbeats).
const t = commandsFixture(() => ownStack({ scheduleIntervalMs: 3_600_000 }));

/** 100 names of 60 characters: a registry of about 6 KB, which would cost 7 write units on every heartbeat. */
const BIG_REGISTRY = Array.from(
  { length: 100 },
  (_, i) => `command_${String(i).padStart(3, '0')}_${'x'.repeat(48)}`,
);

describe('worker heartbeats', () => {
  it('writes the command registry on the first heartbeat only, then 1 write unit per heartbeat', async (context) => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const beat = () =>
      t.h.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
        commands: BIG_REGISTRY,
        running: 0,
      });
    resetRequestTally();
    await beat();
    const first = requestTally();
    // Act
    resetRequestTally();
    const second = await beat();
    const third = await beat();
    const steady = requestTally();
    const view = await t.h.call<WorkerView>(t.stack.tokens.client, 'GET', `/v1/workers/${worker.name}`);
    // Assess
    context.diagnostic(`first heartbeat: ${JSON.stringify(first)}; two more: ${JSON.stringify(steady)}`);
    assert.equal(first.requests['dynamodb:TransactWriteItemsCommand'], 1);
    assert.ok(first.writeUnits >= 7, `the first heartbeat stores the ~6 KB registry: ${first.writeUnits}`);
    assert.deepEqual([second.status, third.status], [200, 200]);
    assert.equal(steady.requests['dynamodb:UpdateItemCommand'], 2);
    assert.equal(steady.requests['dynamodb:TransactWriteItemsCommand'], undefined);
    assert.equal(steady.requests['dynamodb:PutItemCommand'], undefined);
    assert.equal(steady.writeUnits, 2);
    assert.deepEqual(view.body.commands, BIG_REGISTRY);
    assert.equal(view.body.running, 0);
  });

  it('rewrites the registry when a heartbeat brings another command list, and start checks the new one', async () => {
    // Prepare
    const worker = await t.h.onlineWorker(['shell']);
    // Act
    const refused = await t.h.call(t.stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'mkdir',
      args: { dir: 'x' },
    });
    await t.h.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
      commands: ['shell', 'mkdir'],
    });
    const accepted = await t.h.call(t.stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'mkdir',
      args: { dir: 'x' },
    });
    const view = await t.h.call<WorkerView>(t.stack.tokens.client, 'GET', `/v1/workers/${worker.name}`);
    // Assess
    assert.equal(refused.status, 400);
    assert.equal(accepted.status, 202);
    assert.deepEqual(view.body.commands, ['shell', 'mkdir']);
  });

  it('removes the registry with the worker, and holds its name for a minute as SQS holds the queue name (409, Retry-After)', async () => {
    // Prepare
    const worker = await t.h.onlineWorker(['shell']);
    // Act
    const removed = await t.h.call(t.stack.tokens.admin, 'DELETE', `/v1/workers/${worker.name}`);
    const late = await t.h.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
      commands: ['shell'],
    });
    const again = await t.h.call<{ token: string }>(t.stack.tokens.admin, 'POST', '/v1/workers', {
      name: worker.name,
    });
    const view = await t.h.call<WorkerView>(t.stack.tokens.client, 'GET', `/v1/workers/${worker.name}`);
    const { Item } = await t.h.db.send(
      new GetCommand({ TableName: t.h.table, Key: workerRegistryKey(worker.name) }),
    );
    // Assess
    assert.equal(removed.status, 204);
    // 401 once the revoked token is out of the authorizer's cache; 404 while it is still cached.
    assert.ok([401, 404].includes(late.status), `late heartbeat answered ${late.status}`);
    assert.equal(again.status, 409);
    assert.equal((again.body as { code?: string }).code, 'queue_deleted_recently');
    assert.equal(again.headers.get('retry-after'), '60');
    assert.equal(view.status, 404);
    assert.equal(Item, undefined);
  });

  it('refuses a heartbeat for a deleted worker with 404 and writes no registry for it', async () => {
    // Prepare: the worker's record is gone, but the heartbeat comes through shared/ as from a Lambda that resolved its token just before
    const ctx = commandsContextFromEnv();
    const worker = await t.h.registeredWorker();
    await t.h.call(t.stack.tokens.admin, 'DELETE', `/v1/workers/${worker.name}`);
    // Act
    const heartbeat = recordHeartbeat(ctx, worker.name, { commands: ['shell'] });
    // Assess
    await assert.rejects(heartbeat, { name: 'WorkerNotFoundError' });
    const { Item } = await t.h.db.send(
      new GetCommand({ TableName: t.h.table, Key: workerRegistryKey(worker.name) }),
    );
    assert.equal(Item, undefined);
  });
});

describe('the watchdog and presence', () => {
  it('ends a queued command as worker_lost_before_start when its worker went offline while it waited, start_timeout when not', async () => {
    // Prepare: two online workers, a command queued for each with a 30 s start timeout
    const real = commandsContextFromEnv();
    const later: CommandsContext = { ...real, now: () => Date.now() + OFFLINE_AFTER_MS + 1_000 };
    const gone = await t.h.onlineWorker();
    const alive = await t.h.onlineWorker();
    const lostId = await t.h.startCommand(gone, { timeouts: { start: 30 } });
    const timedOutId = await t.h.startCommand(alive, { timeouts: { start: 30 } });
    // Act: past OFFLINE_AFTER_MS later only `alive` has heartbeated (through the time seam); the watchdog runs then
    await recordHeartbeat(later, alive.name, { commands: ['shell', 'mkdir'] });
    const report = await runWatchdog(later);
    const lost = await t.h.call<CommandView>(t.stack.tokens.client, 'GET', `/v1/commands/${lostId}`);
    const timedOut = await t.h.call<CommandView>(t.stack.tokens.client, 'GET', `/v1/commands/${timedOutId}`);
    // Assess
    assert.ok((report.ended.worker_lost_before_start ?? 0) >= 1, JSON.stringify(report));
    assert.equal(lost.body.status, 'complete');
    assert.equal(lost.body.results, RESULTS.RETRY);
    assert.equal(lost.body.failure?.kind, 'worker_lost_before_start');
    assert.match(lost.body.failure?.message ?? '', new RegExp(`${gone.name} went offline`));
    assert.equal(timedOut.body.results, RESULTS.RETRY);
    assert.equal(timedOut.body.failure?.kind, 'start_timeout');
  });
});

describe('the worker record cache of dispatch', () => {
  /**
   * A context on a client of its own, counted by its own counter: the stack's watchdog queries the same
   * emulator every second, so a process-wide count would see its reads too.
   */
  function clockedContext(at: { now: number }): { ctx: CommandsContext; counter: RequestCounter } {
    const counter = new RequestCounter();
    const base = new DynamoDBClient({
      endpoint: t.stack.env.AWS_ENDPOINT_URL_DYNAMODB,
      region: t.stack.env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    counter.count(base, 'dynamodb');
    const db = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    return { ctx: { ...commandsContextFromEnv(), db, now: () => at.now }, counter };
  }

  it('reads an online worker once per WORKER_CACHE_MS, and afresh for a command it did not register', async () => {
    // Prepare
    const worker = await t.h.onlineWorker(['shell']);
    const at = { now: Date.now() };
    const { ctx, counter } = clockedContext(at);
    await loadWorkerForDispatch(ctx, worker.name, 'shell');
    counter.reset();
    const queries = () => counter.snapshot().requests['dynamodb:QueryCommand'] ?? 0;

    // Act
    at.now += WORKER_CACHE_MS - 1;
    const cached = await loadWorkerForDispatch(ctx, worker.name, 'shell');
    const readsWhileFresh = queries();
    await loadWorkerForDispatch(ctx, worker.name, 'mkdir');
    const readsForUnregistered = queries();
    at.now += WORKER_CACHE_MS; // the fresh read above restarted the window
    await loadWorkerForDispatch(ctx, worker.name, 'shell');
    const readsWhenStale = queries();

    // Assess
    assert.equal(cached?.name, worker.name);
    assert.equal(readsWhileFresh, 0, 'a record read under WORKER_CACHE_MS ago is reused');
    assert.equal(readsForUnregistered, 1, 'a command the cached record lacks is checked afresh');
    assert.equal(readsWhenStale, 2, 'an older record is read again');
  });

  it('forgets a worker deleted in the same process at once', async () => {
    // Prepare
    const worker = await t.h.onlineWorker(['shell']);
    const ctx = commandsContextFromEnv();
    assert.ok(await loadWorkerForDispatch(ctx, worker.name, 'shell'));

    // Act
    await deleteWorker(ctx, worker.name);
    const afterDelete = await loadWorkerForDispatch(ctx, worker.name, 'shell');

    // Assess
    assert.equal(afterDelete, undefined);
  });
});
