// Push on the local stack: $connect's token check, subscriptions, the fast path and the stream fan-out each alone, gone connections.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack, LocalStackOptions } from '../../local/index.ts';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import * as ENV from '../../shared/config.ts';
import { connectionKey, topicPk } from '../../shared/push/keys.ts';
import type { PushFrame, StatusFrame, UpdatesFrame } from '../../shared/push/wire.ts';
import { waitFor } from '../support/wait.ts';
import { openRaw } from './helpers.ts';

const isStatus =
  (status: StatusFrame['status']) =>
  (frame: PushFrame): frame is StatusFrame =>
    frame.type === 'status' && frame.status === status;

/** Every stdout a subscriber was pushed for `commandId`, in seq order, each seq once. */
function pushedStdout(frames: PushFrame[], commandId: string): string {
  const bySeq = new Map<number, string>();
  for (const frame of frames)
    if (frame.type === 'updates' && frame.commandId === commandId)
      for (const [update, seq] of (frame as UpdatesFrame).updates) bySeq.set(seq, update.stdout ?? '');
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

/** Subscribes a raw socket to a new command's frames, runs `script` on the stack's worker, answers the frames. */
async function runSubscribed(
  stack: LocalStack,
  script: string,
): Promise<{ commandId: string; frames: PushFrame[] }> {
  const api = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client, pushUrl: false });
  const socket = await openRaw(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);
  try {
    socket.send({ action: 'subscribe', worker: 'pushw' });
    await socket.frame('subscribed to the worker', (f): f is PushFrame => f.type === 'subscribed');
    const { commandId } = await api.startCommand({
      worker: 'pushw',
      command: 'shell',
      args: { command: ['sh', '-c', script], workdir: '.' },
    });
    socket.send({ action: 'subscribe', commandId });
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
      const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
      await db.send(new PutCommand({ TableName: table, Item: Item! }));
      await db.send(
        new PutCommand({
          TableName: table,
          Item: { pk: topicPk({ worker: 'pushw' }), sk: gone, expiresAt: 0 },
        }),
      );

      // Act
      await runSubscribed(env.stack, 'true');

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
