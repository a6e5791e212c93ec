// A command's record lists the connections watching it (snapshot.ts): subscribe adds one, unsubscribe and $disconnect take it off, past the cap the writers query.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';
import { pushTally } from '../../shared/push/context.ts';
import * as LIMITS from '../../shared/limits.ts';
import type { PushFrame, StatusFrame } from '../../shared/push/wire.ts';
import { apiCaller, expectStatus, registerWorker, startCommand } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import { openRaw } from './helpers.ts';
import type { RawPushClient } from './helpers.ts';

describe("a command's watchers on its record", () => {
  let stack: LocalStack;
  let worker: { name: string; token: string };
  const call = () => apiCaller(stack);

  before(async () => {
    stack = await startLocalStack({ pollWaitSeconds: 1, push: { stream: false } });
    worker = await registerWorker(stack, 'watchers');
    const path = `/v1/workers/${worker.name}/heartbeat`;
    expectStatus(await call()(worker.token, 'POST', path, { commands: ['shell'] }), 200, 'heartbeat');
  });
  after(async () => {
    await stack?.stop();
  });

  /** The connection ids the record lists, and whether the list is whole. */
  async function listOf(commandId: string): Promise<{ watchers: string[]; watchList: unknown }> {
    const db = dynamoDocumentClient(stack.env);
    const { Item } = await db.send(
      new GetCommand({ TableName: stack.env[ENV.commandsTable]!, Key: commandKey(commandId) }),
    );
    const watchers = Item?.watchers instanceof Set ? [...(Item.watchers as Set<string>)] : [];
    return { watchers, watchList: Item?.watchList };
  }

  async function subscribed(commandId: string): Promise<{ socket: RawPushClient; connectionId: string }> {
    const known = new Set(stack.push!.connections.connectionIds());
    const socket = await openRaw(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);
    const connectionId = stack.push!.connections.connectionIds().find((id) => !known.has(id))!;
    socket.send({ action: 'subscribe', commandId });
    await socket.frame('subscribed', (f): f is PushFrame => f.type === 'subscribed');
    return { socket, connectionId };
  }

  it('lists a subscriber on the record, and takes it off at unsubscribe and at $disconnect', async () => {
    // Prepare
    const id = await startCommand(stack, worker.name, 'shell', { command: ['true'] });
    const one = await subscribed(id);
    const two = await subscribed(id);
    assert.deepEqual((await listOf(id)).watchers.sort(), [one.connectionId, two.connectionId].sort());

    // Act
    one.socket.send({ action: 'unsubscribe', commandId: id });
    await one.socket.frame('unsubscribed', (f): f is PushFrame => f.type === 'unsubscribed');
    const afterUnsubscribe = await listOf(id);
    two.socket.close();
    await waitFor('the $disconnect', async () => (await listOf(id)).watchers.length === 0);

    // Assess
    assert.deepEqual(afterUnsubscribe.watchers, [two.connectionId]);
    assert.equal((await listOf(id)).watchList, true, 'the list stays whole: its writers need no Query');
    one.socket.close();
  });

  it("leaves a complete command's list as it is at unsubscribe: no writer reads it again", async () => {
    // Prepare: a command run to its end with a subscriber.
    const id = await startCommand(stack, worker.name, 'shell', { command: ['true'] });
    const { socket, connectionId } = await subscribed(id);
    expectStatus(await call()(worker.token, 'POST', `/v1/commands/${id}/start`), 200, 'start');
    const done = { lastSeq: 0, updates: [[{ rc: 0 }, 0]] };
    expectStatus(await call()(worker.token, 'POST', `/v1/commands/${id}/complete`, done), 200, 'complete');

    // Act
    socket.send({ action: 'unsubscribe', commandId: id });
    await socket.frame('unsubscribed', (f): f is PushFrame => f.type === 'unsubscribed');
    socket.close();

    // Assess: no write of the record (its stream would carry one more record for the fan-out to post about).
    assert.deepEqual((await listOf(id)).watchers, [connectionId]);
  });

  it('marks the list not whole past LIMITS.pushRecordWatchers, and the writers then query the subscribers', async () => {
    // Prepare: one subscriber more than the record lists.
    const id = await startCommand(stack, worker.name, 'shell', { command: ['true'] });
    const sockets: RawPushClient[] = [];
    for (let i = 0; i <= LIMITS.pushRecordWatchers; i++) sockets.push((await subscribed(id)).socket);
    const list = await listOf(id);
    const before = pushTally(stack.env);

    // Act
    expectStatus(await call()(worker.token, 'POST', `/v1/commands/${id}/start`), 200, 'start');

    // Assess: every subscriber hears of the claim, the one past the cap included.
    for (const socket of sockets)
      await socket.frame('running', (f): f is StatusFrame => f.type === 'status' && f.status === 'running');
    for (const socket of sockets) socket.close();
    assert.equal(list.watchers.length, LIMITS.pushRecordWatchers);
    assert.equal(list.watchList, false);
    assert.equal(pushTally(stack.env).queries - before.queries, 1, 'one subscribers Query');
  });
});
