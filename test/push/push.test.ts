// Push on the local stack: $connect's token check, subscriptions, the fast path and the stream fan-out each alone, gone connections.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack, LocalStackOptions } from '../../local/index.ts';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import * as ENV from '../../shared/config.ts';
import { pushTally } from '../../shared/push/context.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import { connectionKey, topicPk } from '../../shared/push/keys.ts';
import { watchCommand } from '../../shared/push/snapshot.ts';
import type { PushFrame, StatusFrame, SubscribedFrame, UpdatesFrame } from '../../shared/push/wire.ts';
import { apiCaller, expectStatus, getCommand, registerWorker, startCommand } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import { openRaw } from './helpers.ts';

const isStatus =
  (status: StatusFrame['status']) =>
  (frame: PushFrame): frame is StatusFrame =>
    frame.type === 'status' && frame.status === status;

/** Every stdout a subscriber was pushed for `commandId` (a completion carries its final updates), in seq order, each seq once. */
function pushedStdout(frames: PushFrame[], commandId: string): string {
  const bySeq = new Map<number, string>();
  for (const frame of frames)
    if ((frame.type === 'updates' || frame.type === 'status') && frame.commandId === commandId)
      for (const [update, seq] of (frame as UpdatesFrame | StatusFrame).updates ?? [])
        bySeq.set(seq, update.stdout ?? '');
  return [...bySeq]
    .sort(([a], [b]) => a - b)
    .map(([, text]) => text)
    .join('');
}

async function stackWithWorker(
  push: LocalStackOptions['push'],
): Promise<{ stack: LocalStack; stop(): Promise<void> }> {
  const basedir = await mkdtemp(path.join(tmpdir(), 'bbs-push-'));
  const stack = await startLocalStack({ pollWaitSeconds: 1, worker: { basedir, name: 'pushw' }, push });
  return {
    stack,
    async stop() {
      await stack.stop();
      await rm(basedir, { recursive: true, force: true });
    },
  };
}

/** The stack's worker runs this many commands at once (local/worker.ts, its default). */
const WORKER_SLOTS = 4;

/**
 * Subscribes a raw socket to a new command's frames, runs `script` on the stack's worker, answers the frames.
 * Commands that hold every slot of the worker meanwhile make sure that the subscription is armed before the command
 * is claimed (its snapshot says queued, acked -1): every frame after that must come as a frame.
 * `beforeSubscribe` runs with the new command's id, before the subscription.
 */
async function runSubscribed(
  stack: LocalStack,
  script: string,
  beforeSubscribe?: (commandId: string) => Promise<void>,
): Promise<{ commandId: string; frames: PushFrame[] }> {
  const api = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client, pushUrl: false });
  const socket = await openRaw(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);
  try {
    socket.send({ action: 'subscribe', worker: 'pushw' });
    await socket.frame('subscribed to the worker', (f): f is PushFrame => f.type === 'subscribed');
    for (let slot = 0; slot < WORKER_SLOTS; slot++)
      await api.startCommand({
        worker: 'pushw',
        command: 'shell',
        args: { command: ['sh', '-c', 'sleep 0.8'], workdir: '.' },
      });
    const { commandId } = await api.startCommand({
      worker: 'pushw',
      command: 'shell',
      args: { command: ['sh', '-c', script], workdir: '.' },
    });
    await beforeSubscribe?.(commandId);
    socket.send({ action: 'subscribe', commandId });
    const subscribed = await socket.frame(
      'subscribed to the command',
      (f): f is SubscribedFrame => f.type === 'subscribed' && 'commandId' in f.topic,
    );
    assert.equal(subscribed.snapshot?.status, 'queued', 'armed before the claim');
    assert.equal(subscribed.snapshot?.acked, -1, 'armed before any output');
    await socket.frame(
      'the completion',
      (f): f is StatusFrame => isStatus('complete')(f) && f.commandId === commandId,
    );
    return { commandId, frames: socket.frames };
  } finally {
    socket.close();
  }
}

describe('push on the local stack', () => {
  describe('with the fast path alone (no stream fan-out)', () => {
    let env: Awaited<ReturnType<typeof stackWithWorker>>;
    before(async () => {
      env = await stackWithWorker({ stream: false });
    });
    after(async () => {
      await env?.stop();
    });

    it('refuses a socket without a token (401) and with a worker token (403), and never echoes the token', async () => {
      // Prepare
      const { stack } = env;
      const admin = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.admin, pushUrl: false });
      const { token: workerToken } = await admin.registerWorker('pushtok');

      // Act
      const none = await openRaw(stack.push!.url, ['bbs.v1']).catch((error: Error) => error);
      const worker = await openRaw(stack.push!.url, ['bbs.v1', `bbs.token.${workerToken}`]).catch(
        (error: Error) => error,
      );
      const client = await openRaw(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);

      // Assess
      assert.match(String(none), /refused: 401/);
      assert.match(String(worker), /refused: 403/);
      assert.equal(client.socket.protocol, 'bbs.v1');
      client.send({ action: 'ping' });
      await client.frame('a pong', (f): f is PushFrame => f.type === 'pong');
      client.send({ action: 'subscribe', commandId: 'not-an-id' });
      await client.frame('an error frame', (f): f is PushFrame => f.type === 'error');
      client.close();
    });

    it("posts a command's running status, its output and its completion from the writing handlers", async () => {
      // Act
      const { commandId, frames } = await runSubscribed(env.stack, 'echo one; sleep 0.3; echo two');

      // Assess
      assert.equal(pushedStdout(frames, commandId), 'one\ntwo\n');
      const complete = frames.find(isStatus('complete'));
      assert.equal(complete?.results, 0);
      assert.equal(complete?.rc, 0);
      assert.ok(
        frames.some((f) => f.type === 'status' && f.commandId === commandId && f.status === 'running'),
      );
      assert.ok((env.stack.tallies().functions.pushFanout?.invocations ?? 0) === 0, 'no stream fan-out ran');
      assert.ok(pushTally(env.stack.env).posted > 0, 'the writing handlers posted');
    });

    it('makes no subscribers Query for a claim, updates and a complete of a command nobody watches', async () => {
      // Prepare: a worker of this test's own, online, and a command for it.
      const call = apiCaller(env.stack);
      const worker = await registerWorker(env.stack, 'nosub');
      const path = `/v1/workers/${worker.name}/heartbeat`;
      expectStatus(await call(worker.token, 'POST', path, { commands: ['shell'] }), 200, 'heartbeat');
      const id = await startCommand(env.stack, worker.name, 'shell', { command: ['true'] });
      const before = pushTally(env.stack.env);

      // Act
      expectStatus(await call(worker.token, 'POST', `/v1/commands/${id}/start`), 200, 'start');
      const line = { updates: [[{ stdout: 'one\n' }, 0]] };
      expectStatus(await call(worker.token, 'POST', `/v1/commands/${id}/updates`, line), 200, 'updates');
      const done = { lastSeq: 1, updates: [[{ rc: 0 }, 1]] };
      expectStatus(await call(worker.token, 'POST', `/v1/commands/${id}/complete`, done), 200, 'complete');

      // Assess
      const after = pushTally(env.stack.env);
      assert.equal(after.queries - before.queries, 0, 'no subscribers Query');
      assert.equal(after.failures, before.failures);
      assert.equal((await getCommand(env.stack, id)).results, 0);
    });

    it("posts a complete's final updates inside its completion frame: one post to the subscriber", async () => {
      // Prepare: a worker of this test's own, a claimed command, and a socket subscribed to it.
      const call = apiCaller(env.stack);
      const worker = await registerWorker(env.stack, 'onepost');
      const path = `/v1/workers/${worker.name}/heartbeat`;
      expectStatus(await call(worker.token, 'POST', path, { commands: ['shell'] }), 200, 'heartbeat');
      const id = await startCommand(env.stack, worker.name, 'shell', { command: ['true'] });
      expectStatus(await call(worker.token, 'POST', `/v1/commands/${id}/start`), 200, 'start');
      const socket = await openRaw(env.stack.push!.url, ['bbs.v1', `bbs.token.${env.stack.tokens.client}`]);
      socket.send({ action: 'subscribe', commandId: id });
      await socket.frame('subscribed', (f): f is PushFrame => f.type === 'subscribed');
      const before = pushTally(env.stack.env);

      // Act
      const final = [
        [{ stdout: 'done\n' }, 0],
        [{ rc: 0 }, 1],
      ];
      const done = { lastSeq: 1, updates: final };
      expectStatus(await call(worker.token, 'POST', `/v1/commands/${id}/complete`, done), 200, 'complete');
      const complete = await socket.frame('the completion', isStatus('complete'));
      socket.close();

      // Assess
      assert.deepEqual(complete.updates, final);
      assert.equal(complete.acked, 1);
      assert.equal(complete.results, 0);
      assert.deepEqual(
        socket.frames.filter((f) => f.type !== 'subscribed').map((f) => f.type),
        ['status'],
        'no separate updates frame',
      );
      const after = pushTally(env.stack.env);
      assert.equal(after.posted - before.posted, 1, 'one post for the completion');
      assert.equal(
        after.queries - before.queries,
        0,
        'posted to the watcher the ended record lists, no Query',
      );
    });

    it('deletes a connection that went away without $disconnect, and its subscriptions, when a post meets 410', async () => {
      // Prepare: a subscription whose connection the gateway no longer has (its $disconnect "lost").
      const db = dynamoDocumentClient(env.stack.env);
      const table = env.stack.env[ENV.connectionsTable]!;
      const socket = await openRaw(env.stack.push!.url, ['bbs.v1', `bbs.token.${env.stack.tokens.client}`]);
      socket.send({ action: 'subscribe', worker: 'pushw' });
      await socket.frame('subscribed', (f): f is PushFrame => f.type === 'subscribed');
      const ids = env.stack.push!.connections.connectionIds();
      const gone = ids[ids.length - 1]!;
      const { Item } = await db.send(new GetCommand({ TableName: table, Key: connectionKey(gone) }));
      assert.ok(Item, 'the connection is recorded');
      // The record is re-put after the socket closes: as if $disconnect never ran.
      socket.close();
      await waitFor('the $disconnect', async () => {
        const { Item: left } = await db.send(new GetCommand({ TableName: table, Key: connectionKey(gone) }));
        return left === undefined;
      });
      await db.send(new PutCommand({ TableName: table, Item: Item! }));
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { pk: topicPk({ worker: 'pushw' }), sk: gone, expiresAt: 0 },
        }),
      );

      // Act: the gone connection subscribed to the command as well (the fast path posts to a command's own).
      let commandId = '';
      await runSubscribed(env.stack, 'true', async (id) => {
        commandId = id;
        const topics = new Set([topicPk({ worker: 'pushw' }), topicPk({ commandId: id })]);
        await db.send(new PutCommand({ TableName: table, Item: { ...Item!, topics } }));
        await db.send(
          new PutCommand({
            TableName: table,
            Item: { pk: topicPk({ commandId: id }), sk: gone, expiresAt: 0 },
          }),
        );
        // As its subscribe did: the command's record lists it among its watchers.
        await watchCommand(db, env.stack.env[ENV.commandsTable]!, id, gone);
      });

      // Assess
      const { Items } = await db.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': topicPk({ worker: 'pushw' }) },
        }),
      );
      assert.ok(
        !(Items ?? []).some((item) => item.sk === gone),
        'the subscription of the gone connection is deleted',
      );
      const { Item: record } = await db.send(new GetCommand({ TableName: table, Key: connectionKey(gone) }));
      assert.equal(record, undefined);
      const { Item: commandSubscription } = await db.send(
        new GetCommand({ TableName: table, Key: { pk: topicPk({ commandId }), sk: gone } }),
      );
      assert.equal(commandSubscription, undefined, "the gone connection's command subscription is deleted");
      const { Item: command } = await db.send(
        new GetCommand({ TableName: env.stack.env[ENV.commandsTable]!, Key: commandKey(commandId) }),
      );
      assert.ok(!(command?.watchers as Set<string> | undefined)?.has(gone), 'the record lists it no more');
    });
  });

  describe('with the stream fan-out alone (no fast path)', () => {
    let env: Awaited<ReturnType<typeof stackWithWorker>>;
    before(async () => {
      env = await stackWithWorker({ fastPath: false });
    });
    after(async () => {
      await env?.stop();
    });

    it("posts the same frames from DynamoDB Local's stream", async () => {
      // Act
      const { commandId, frames } = await runSubscribed(env.stack, 'echo one; sleep 0.3; echo two');

      // Assess
      assert.equal(pushedStdout(frames, commandId), 'one\ntwo\n');
      assert.equal(frames.find(isStatus('complete'))?.results, 0);
      assert.ok((env.stack.tallies().functions.pushFanout?.invocations ?? 0) > 0, 'the stream fan-out ran');
    });
  });
});
