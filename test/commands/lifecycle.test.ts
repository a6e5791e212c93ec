import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { RESULTS } from '../../shared/commands/types.ts';
import type { ClaimResponse, CommandView, UpdatesResponse } from '../../shared/commands/wire.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { commandItems, harness, lastResultOf, receiveOne } from './helpers.ts';
import type { TestWorker } from './helpers.ts';

let stack: TestStack;
let h: ReturnType<typeof harness>;
let call: ReturnType<typeof harness>['call'];
let sqs: ReturnType<typeof harness>['sqs'];
let db: ReturnType<typeof harness>['db'];
let table: string;
type Worker = TestWorker;
const onlineWorker = (commands?: string[]) => h.onlineWorker(commands);
const startCommand = (worker: Worker, extra?: Record<string, unknown>) => h.startCommand(worker, extra);
const claimed = (worker: Worker, extra?: Record<string, unknown>) => h.claimed(worker, extra);

before(async () => {
  stack = await useStack();
  h = harness(stack);
  ({ call, sqs, db, table } = h);
});

after(async () => {
  await stack?.release();
});

describe('a command from start to completion', () => {
  it('runs start → queue message → claim → updates → complete and publishes the completion event', async () => {
    // Prepare
    const worker = await onlineWorker();
    // Act
    const commandId = await startCommand(worker, { args: { command: ['make'], workdir: 'build' } });
    const message = await receiveOne(sqs, worker.queueUrl);
    const claim = await call<ClaimResponse>(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    const updates = await call<UpdatesResponse>(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [
        [{ header: 'running make\n' }, 0],
        [{ stdout: 'ok\n' }, 1],
        [{ rc: 0 }, 2],
        [{ elapsed: 0.5 }, 3],
      ],
    });
    const complete = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 3 });
    const event = await lastResultOf(worker.name, commandId);
    const view = await call<CommandView>(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    // Assess
    assert.deepEqual(message, {
      type: 'command',
      commandId,
      command: 'shell',
      args: { command: ['make'], workdir: 'build' },
      heartbeatTimeout: 60,
    });
    assert.equal(claim.status, 200);
    assert.deepEqual(claim.body.args, { command: ['make'], workdir: 'build' });
    assert.deepEqual(updates.body, { acked: 3 });
    assert.equal(complete.status, 200);
    assert.equal(complete.body.results, RESULTS.SUCCESS);
    assert.equal(event.results, RESULTS.SUCCESS);
    assert.equal(event.rc, 0);
    assert.equal(event.failure, null);
    assert.equal(event.status, 'complete');
    assert.equal(view.body.status, 'complete');
    assert.equal(view.body.elapsed, 0.5);
    assert.equal(view.body.acked, 3);
  });

  it('maps rc through decodeRC and answers a repeated complete with the same outcome', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await claimed(worker, { decodeRC: { 0: RESULTS.SUCCESS, 1: RESULTS.WARNINGS } });
    await call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, { updates: [[{ rc: 1 }, 0]] });
    // Act
    const first = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 0 });
    const repeat = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 0 });
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(first.body.results, RESULTS.WARNINGS);
    assert.deepEqual(repeat.body, first.body);
    assert.equal(event.results, RESULTS.WARNINGS);
  });

  it('ends as FAILURE for an rc that decodeRC does not name, and as EXCEPTION for a start_error', async () => {
    // Prepare
    const worker = await onlineWorker();
    const failing = await claimed(worker);
    const broken = await claimed(worker);
    await call(worker.token, 'POST', `/v1/commands/${failing}/updates`, { updates: [[{ rc: 3 }, 0]] });
    // Act
    const failed = await call(worker.token, 'POST', `/v1/commands/${failing}/complete`, { lastSeq: 0 });
    const errored = await call(worker.token, 'POST', `/v1/commands/${broken}/complete`, {
      lastSeq: -1,
      failure: { kind: 'start_error', message: 'no such executable' },
    });
    // Assess
    assert.equal(failed.body.results, RESULTS.FAILURE);
    assert.equal(errored.body.results, RESULTS.EXCEPTION);
    assert.deepEqual(errored.body.failure, { kind: 'start_error', message: 'no such executable' });
  });

  it('returns the same commandId for the same idempotency key and stores one record', async () => {
    // Prepare
    const worker = await onlineWorker();
    // Act
    const first = await startCommand(worker, { idempotencyKey: 'build-42' });
    const second = await startCommand(worker, { idempotencyKey: 'build-42' });
    // Assess
    assert.equal(first, second);
    const items = await commandItems(db, table, first);
    assert.equal(items.length, 1);
  });
});

describe('complete carrying the last updates', () => {
  it('stores the updates a complete carries and ends the command with their rc in one request', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await claimed(worker, { decodeRC: { 0: RESULTS.SUCCESS, 1: RESULTS.WARNINGS } });
    const body = {
      lastSeq: 2,
      updates: [
        [{ stdout: 'hi\n' }, 0],
        [{ rc: 1 }, 1],
        [{ elapsed: 0.25 }, 2],
      ],
    };
    // Act
    const first = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, body);
    const repeat = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, body);
    const updates = await call<{ updates: unknown[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/updates`,
    );
    const view = await call<CommandView>(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(first.status, 200);
    assert.equal(first.body.results, RESULTS.WARNINGS);
    assert.equal(first.body.rc, 1);
    assert.deepEqual(repeat.body, first.body);
    assert.deepEqual(updates.body.updates, body.updates);
    assert.equal(view.body.acked, 2);
    assert.equal(view.body.elapsed, 0.25);
    assert.equal(event.results, RESULTS.WARNINGS);
    // A run this small is stored on the record by the ending write, not as an item of its own.
    const items = await commandItems(db, table, commandId);
    assert.equal(items.filter((item) => item.sk !== 'CMD').length, 0);
    const record = items.find((item) => item.sk === 'CMD')!;
    assert.deepEqual([record.finalRun.first, record.finalRun.last], [0, 2]);
  });

  it('stores only the part a resend already holds once, and answers 409 {acked} to a gap storing nothing', async () => {
    // Prepare
    const worker = await onlineWorker();
    const resent = await claimed(worker);
    const gapped = await claimed(worker);
    await call(worker.token, 'POST', `/v1/commands/${resent}/updates`, {
      updates: [
        [{ stdout: 'a' }, 0],
        [{ stdout: 'b' }, 1],
      ],
    });
    // Act
    const complete = await call(worker.token, 'POST', `/v1/commands/${resent}/complete`, {
      lastSeq: 2,
      updates: [
        [{ stdout: 'a' }, 0],
        [{ stdout: 'b' }, 1],
        [{ rc: 0 }, 2],
      ],
    });
    const gap = await call(worker.token, 'POST', `/v1/commands/${gapped}/complete`, {
      lastSeq: 3,
      updates: [[{ rc: 0 }, 3]],
    });
    const resentUpdates = await call<{ updates: unknown[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${resent}/updates`,
    );
    const gappedView = await call<CommandView>(stack.tokens.client, 'GET', `/v1/commands/${gapped}`);
    // Assess
    assert.equal(complete.status, 200);
    assert.equal(complete.body.results, RESULTS.SUCCESS);
    assert.deepEqual(resentUpdates.body.updates, [
      [{ stdout: 'a' }, 0],
      [{ stdout: 'b' }, 1],
      [{ rc: 0 }, 2],
    ]);
    assert.equal(gap.status, 409);
    assert.equal(gap.body.acked, -1);
    assert.equal(gappedView.body.status, 'running');
    assert.equal((await commandItems(db, table, gapped)).length, 1);
  });
});

describe('idempotency keys', () => {
  it('answers 409 to a key reused with another body and stores and sends nothing for it', async () => {
    // Prepare
    const worker = await onlineWorker();
    const key = `key-${worker.name}`;
    const commandId = await startCommand(worker, { args: { command: ['make'] }, idempotencyKey: key });
    await receiveOne(sqs, worker.queueUrl);
    // Act
    const otherArgs = await call(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'shell',
      args: { command: ['make', 'clean'] },
      idempotencyKey: key,
    });
    const otherTimeouts = await call(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'shell',
      args: { command: ['make'] },
      timeouts: { start: 5 },
      idempotencyKey: key,
    });
    const sameBody = await call(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'shell',
      args: { command: ['make'] },
      idempotencyKey: key,
    });
    // Assess
    assert.equal(otherArgs.status, 409);
    assert.match(String(otherArgs.body.message), /another request/);
    assert.equal(otherArgs.body.commandId, commandId);
    assert.equal(otherTimeouts.status, 409);
    assert.deepEqual(sameBody.body, { commandId });
    const items = await commandItems(db, table, commandId);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.argsJson, JSON.stringify({ command: ['make'] }));
    assert.equal(items[0]!.startTimeoutMs, 60_000);
    // The repeat came within REDISPATCH_AFTER_MS of the first: no second message.
    assert.equal(await receiveOne(sqs, worker.queueUrl, { waitSeconds: 1 }), undefined);
  });

  it('removes the record when the queue refuses the message, so a retry with the key starts afresh', async () => {
    // Prepare: the worker's queue refuses the message (over its MaximumMessageSize). Deleting the queue and
    // creating it again would take a minute: SQS refuses a deleted queue's name for 60 s (QueueDeletedRecently).
    const worker = await onlineWorker();
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: worker.queueUrl, AttributeNames: ['MaximumMessageSize'] }),
    );
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: worker.queueUrl,
        Attributes: { MaximumMessageSize: '1024' },
      }),
    );
    const request = {
      worker: worker.name,
      command: 'shell',
      args: { pad: 'x'.repeat(2000) },
      idempotencyKey: `lost-${worker.name}`,
    };
    // Act
    const refused = await call(stack.tokens.client, 'POST', '/v1/commands', request);
    const listed = await call<{ commands: CommandView[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}`,
    );
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: worker.queueUrl, Attributes }));
    const retried = await call<{ commandId: string }>(stack.tokens.client, 'POST', '/v1/commands', request);
    const message = await receiveOne(sqs, worker.queueUrl);
    // Assess
    assert.equal(refused.status, 500);
    assert.deepEqual(listed.body.commands, []);
    assert.equal(retried.status, 202);
    assert.equal(message?.commandId, retried.body.commandId);
  });
});

describe('start refusals', () => {
  it('answers 404 for an unknown worker and 400 naming the registered commands for an unknown command', async () => {
    // Prepare
    const worker = await onlineWorker(['shell', 'mkdir']);
    // Act
    const unknownWorker = await call(stack.tokens.client, 'POST', '/v1/commands', {
      worker: 'nobody-here',
      command: 'shell',
      args: {},
    });
    const unknownCommand = await call(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'rmdir',
      args: {},
    });
    // Assess
    assert.equal(unknownWorker.status, 404);
    assert.equal(unknownCommand.status, 400);
    assert.match(String(unknownCommand.body.message), /shell, mkdir/);
  });

  it('ends a command for a worker that never heartbeated as worker_lost_before_start (RETRY), still 202', async () => {
    // Prepare
    const name = uniqueName('offline');
    const registered = await call<Worker>(stack.tokens.admin, 'POST', '/v1/workers', { name });
    // Act
    const commandId = await startCommand(registered.body);
    const event = await lastResultOf(name, commandId);
    const queued = await receiveOne(sqs, registered.body.queueUrl, { waitSeconds: 0 });
    // Assess
    assert.equal(event.results, RESULTS.RETRY);
    assert.equal(event.failure?.kind, 'worker_lost_before_start');
    assert.equal(queued, undefined);
  });
});

describe('claims and interrupts', () => {
  it('answers 409 to a duplicate claim, so a redelivered message runs nothing', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await claimed(worker);
    // Act
    const duplicate = await call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    // Assess
    assert.equal(duplicate.status, 409);
    assert.equal(duplicate.body.status, 'running');
  });

  it('ends an interrupted queued command as CANCELLED at once, and its claim then gets 409', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await startCommand(worker);
    // Act
    const interrupt = await call(stack.tokens.client, 'POST', `/v1/commands/${commandId}/interrupt`, {
      why: 'changed my mind',
    });
    const claim = await call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    const event = await lastResultOf(worker.name, commandId);
    // Assess
    assert.equal(interrupt.status, 200);
    assert.deepEqual(interrupt.body, { commandId, status: 'complete', interrupted: true });
    assert.equal(claim.status, 409);
    assert.equal(event.results, RESULTS.CANCELLED);
    assert.deepEqual(event.failure, { kind: 'interrupted', message: 'changed my mind' });
  });

  it('flags a running command: the next ack carries the interrupt and a control message is on the queue', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await claimed(worker);
    // Act
    const interrupt = await call(stack.tokens.client, 'POST', `/v1/commands/${commandId}/interrupt`, {
      why: 'stop',
    });
    const control = await receiveOne(sqs, worker.queueUrl);
    const ack = await call<UpdatesResponse>(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ rc: -15 }, 0]],
    });
    const complete = await call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 0 });
    const afterwards = await call(stack.tokens.client, 'POST', `/v1/commands/${commandId}/interrupt`, {});
    // Assess
    assert.deepEqual(interrupt.body, { commandId, status: 'running', interrupted: true });
    assert.deepEqual(control, { type: 'interrupt', commandId, why: 'stop' });
    assert.deepEqual(ack.body, { acked: 0, interrupt: { why: 'stop' } });
    assert.equal(complete.body.results, RESULTS.CANCELLED);
    assert.deepEqual(afterwards.body, { commandId, status: 'complete', interrupted: true });
  });

  it('lets a worker token claim, update or complete only its own worker’s commands (403)', async () => {
    // Prepare
    const owner = await onlineWorker();
    const other = await onlineWorker();
    const runningId = await claimed(owner);
    const queuedId = await startCommand(owner);
    // Act
    const claim = await call(other.token, 'POST', `/v1/commands/${queuedId}/start`);
    const updates = await call(other.token, 'POST', `/v1/commands/${runningId}/updates`, { updates: [] });
    const complete = await call(other.token, 'POST', `/v1/commands/${runningId}/complete`, { lastSeq: -1 });
    const heartbeat = await call(other.token, 'POST', `/v1/workers/${owner.name}/heartbeat`, {
      commands: [],
    });
    // Assess
    assert.deepEqual([claim.status, updates.status, complete.status, heartbeat.status], [403, 403, 403, 403]);
    const view = await call<CommandView>(stack.tokens.client, 'GET', `/v1/commands/${queuedId}`);
    assert.equal(view.body.status, 'queued');
  });

  it('refuses updates from a client token (403) and calls without a token (401)', async () => {
    // Prepare
    const worker = await onlineWorker();
    const commandId = await claimed(worker);
    // Act
    const asClient = await call(stack.tokens.client, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [],
    });
    const anonymous = await call(undefined, 'GET', `/v1/commands/${commandId}`);
    const wrongToken = await call('bbs_client_nonsense', 'GET', `/v1/commands/${commandId}`);
    // Assess
    assert.equal(asClient.status, 403);
    assert.equal(anonymous.status, 401);
    assert.equal(wrongToken.status, 401);
  });
});

describe('listing', () => {
  it('lists a worker’s commands newest first and filters them by status', async () => {
    // Prepare
    const worker = await onlineWorker();
    const queuedId = await startCommand(worker);
    const runningId = await startCommand(worker);
    await receiveOne(sqs, worker.queueUrl);
    await receiveOne(sqs, worker.queueUrl);
    await call(worker.token, 'POST', `/v1/commands/${runningId}/start`);
    // Act
    const all = await call<{ commands: CommandView[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}`,
    );
    const running = await call<{ commands: CommandView[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&status=running`,
    );
    const paged = await call<{ commands: CommandView[]; next?: string }>(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&limit=1`,
    );
    const badStatus = await call(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&status=lost`,
    );
    // Assess
    assert.deepEqual(all.body.commands.map((c) => c.commandId).sort(), [queuedId, runningId].sort());
    assert.deepEqual(
      running.body.commands.map((c) => c.commandId),
      [runningId],
    );
    assert.equal(paged.body.commands.length, 1);
    assert.equal(typeof paged.body.next, 'string');
    assert.equal(badStatus.status, 400);
  });

  it('pages through five commands two at a time with the cursor, newest first, each once', async () => {
    // Prepare
    const worker = await onlineWorker();
    const started: string[] = [];
    for (let i = 0; i < 5; i++) started.push(await startCommand(worker));
    // Act
    const pages: CommandView[][] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 10; i++) {
      const query = `/v1/commands?worker=${worker.name}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await call<{ commands: CommandView[]; next?: string }>(stack.tokens.client, 'GET', query);
      assert.equal(page.status, 200, page.text);
      pages.push(page.body.commands);
      cursor = page.body.next;
      if (!cursor) break;
    }
    const forged = await call(
      stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&cursor=nonsense`,
    );
    // Assess
    const seen = pages.flat();
    assert.ok(pages.length >= 3, `expected at least 3 pages, got ${pages.length}`);
    assert.ok(pages.every((page) => page.length <= 2));
    assert.deepEqual(seen.map((c) => c.commandId).sort(), [...started].sort());
    const created = seen.map((c) => Date.parse(c.createdAt));
    assert.deepEqual(
      created,
      [...created].sort((a, b) => b - a),
    );
    assert.equal(forged.status, 400);
  });
});
