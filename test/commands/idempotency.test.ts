// Idempotency keys belong to the token that used them: over real HTTP, two tokens never share a key's command.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TokenStore, callerIdOf } from '../../shared/auth/tokens.ts';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import { commandIdFor } from '../../shared/commands/ids.ts';
import * as ENV from '../../shared/config.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { commandItems, harness, receiveOne } from './helpers.ts';
import type { TestWorker } from './helpers.ts';

let stack: TestStack;
let h: ReturnType<typeof harness>;
let worker: TestWorker;
/** Two client tokens: the stack's own, and one more issued like any other. */
let tokenA: string;
let tokenB: string;

function start(token: string, key: string, args: Record<string, unknown>) {
  return h.call<{ commandId: string; code?: string }>(token, 'POST', '/v1/commands', {
    worker: worker.name,
    command: 'shell',
    args,
    idempotencyKey: key,
  });
}

before(async () => {
  stack = await useStack();
  h = harness(stack);
  worker = await h.onlineWorker();
  tokenA = stack.tokens.client;
  const tokens = new TokenStore({
    client: dynamoDocumentClient(),
    tableName: stack.env[ENV.commandsTable] ?? '',
  });
  tokenB = (await tokens.issue({ role: 'client' })).token;
});

after(async () => {
  await stack?.release();
});

describe('idempotency keys scoped to the calling token', () => {
  it('derives the id from the caller and the key, never from the role alone', () => {
    // Prepare
    const [a, b] = [callerIdOf('bbs_client_a'), callerIdOf('bbs_client_b')];
    // Assess
    assert.match(a, /^[0-9a-f]{32}$/);
    assert.equal(commandIdFor(a, 'key'), commandIdFor(a, 'key'));
    assert.notEqual(commandIdFor(a, 'key'), commandIdFor(b, 'key'));
    assert.throws(() => commandIdFor('', 'key'), /caller/);
    assert.match(commandIdFor('', undefined), /^[0-9a-f]{32}$/);
  });

  it('gives the same token the same command for the same key', async () => {
    // Prepare
    const key = uniqueName('same-token');
    // Act
    const first = await start(tokenA, key, { command: ['make'] });
    const again = await start(tokenA, key, { command: ['make'] });
    // Assess
    assert.equal(first.status, 202, first.text);
    assert.deepEqual(again.body, first.body);
    assert.equal((await commandItems(h.db, h.table, first.body.commandId)).length, 1);
    assert.equal((await receiveOne(h.sqs, worker.queueUrl))?.commandId, first.body.commandId);
  });

  it('gives two client tokens that use the same key two commands', async () => {
    // Prepare
    const key = uniqueName('two-tokens');
    // Act
    const fromA = await start(tokenA, key, { command: ['make'] });
    const fromB = await start(tokenB, key, { command: ['make'] });
    // Assess
    assert.equal(fromA.status, 202, fromA.text);
    assert.equal(fromB.status, 202, fromB.text);
    assert.notEqual(fromA.body.commandId, fromB.body.commandId);
    const sent = [await receiveOne(h.sqs, worker.queueUrl), await receiveOne(h.sqs, worker.queueUrl)];
    assert.deepEqual(
      sent.map((message) => message?.commandId).sort(),
      [fromA.body.commandId, fromB.body.commandId].sort(),
    );
  });

  it("lets a token that reuses another token's key with other args learn nothing of the other's command", async () => {
    // Prepare
    const key = uniqueName('reused');
    const fromA = await start(tokenA, key, { command: ['deploy', 'a-secret-argument'] });
    await receiveOne(h.sqs, worker.queueUrl);
    // Act
    const fromB = await start(tokenB, key, { command: ['true'] });
    const reusedByA = await start(tokenA, key, { command: ['true'] });
    // Assess: B started a command of its own, and its answer holds nothing of A's.
    assert.equal(fromB.status, 202, fromB.text);
    assert.deepEqual(Object.keys(fromB.body), ['commandId']);
    assert.notEqual(fromB.body.commandId, fromA.body.commandId);
    assert.ok(!fromB.text.includes(fromA.body.commandId) && !fromB.text.includes('a-secret-argument'));
    const [bRecord] = await commandItems(h.db, h.table, fromB.body.commandId);
    assert.equal(bRecord?.argsJson, JSON.stringify({ command: ['true'] }));
    // A reusing its own key with other args is refused, naming only A's own command.
    assert.equal(reusedByA.status, 409);
    assert.equal(reusedByA.body.code, 'idempotency_key_reused');
    assert.equal(reusedByA.body.commandId, fromA.body.commandId);
    assert.ok(!reusedByA.text.includes('a-secret-argument'), reusedByA.text);
  });
});
