// Hostile client and worker input at the commands edge: each answers a 4xx that names the limit, and nothing is stored.
import assert from 'node:assert/strict';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, it } from 'node:test';
import { commandKey } from '../../shared/commands/keys.ts';
import * as LIMITS from '../../shared/limits.ts';
import { useStack } from '../support/stack.ts';
import { commandItems, commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

/** `{a: [{a: [...]}]}` nested `depth` levels deep (objects and arrays alternating). */
function nested(depth: number): Record<string, unknown> {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return { a: value };
}

/** The worker's commands as GET /v1/commands lists them (status 200 expected). */
async function listed(worker: string): Promise<string[]> {
  const answer = await t.h.call<{ commands: { commandId: string }[] }>(
    t.stack.tokens.client,
    'GET',
    `/v1/commands?worker=${worker}`,
  );
  assert.equal(answer.status, 200, answer.text);
  return answer.body.commands.map((command) => command.commandId);
}

async function start(worker: string, extra: Record<string, unknown>) {
  return t.h.call(t.stack.tokens.client, 'POST', '/v1/commands', {
    worker,
    command: 'shell',
    args: { command: ['true'] },
    ...extra,
  });
}

describe('a start request that would grow the command record', () => {
  it('refuses a decodeRC with an empty key with 400 and stores nothing', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    // Act
    const answer = await start(worker.name, { decodeRC: { '': 0 } });
    // Assess
    assert.equal(answer.status, 400, answer.text);
    assert.equal(answer.body.code, 'invalid_request');
    assert.deepEqual(await listed(worker.name), []);
  });

  it('refuses a decodeRC whose keys are long text with 400 and stores nothing', async () => {
    // Prepare: 256 keys of 1,500 characters, a record of about 400 KB.
    const worker = await t.h.onlineWorker();
    const decodeRC = Object.fromEntries(
      Array.from({ length: 256 }, (_, i) => [`${i}`.padStart(1500, '1'), 0]),
    );
    // Act
    const answer = await start(worker.name, { decodeRC });
    // Assess
    assert.equal(answer.status, 400, answer.text);
    assert.match(String(answer.body.message), /decodeRC/);
    assert.deepEqual(await listed(worker.name), []);
  });

  it('takes a decodeRC of rc values as decimal integers', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    // Act
    const answer = await start(worker.name, { decodeRC: { '0': 0, '1': 1, '-15': 6, '255': 2 } });
    // Assess
    assert.equal(answer.status, 202, answer.text);
  });

  it(`refuses args nested deeper than ${LIMITS.jsonDepth} with 400 and stores nothing`, async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    // Act
    const deep = await start(worker.name, { args: nested(4000) });
    const atLimit = await start(worker.name, { args: nested(LIMITS.jsonDepth - 1) });
    // Assess
    assert.equal(deep.status, 400, deep.text);
    assert.equal(deep.body.code, 'invalid_request');
    assert.equal(atLimit.status, 202, atLimit.text);
    assert.equal((await listed(worker.name)).length, 1);
  });

  it(`refuses args declaring more than ${LIMITS.logNamesPerCommand} logfiles with 400 and stores nothing`, async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const logfiles = (count: number, length = 8) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [`${i}`.padStart(length, 'l'), { filename: `f${i}` }]),
      );
    // Act
    const many = await start(worker.name, { args: { command: ['true'], logfiles: logfiles(65) } });
    const long = await start(worker.name, { args: { command: ['true'], logfiles: logfiles(1, 257) } });
    const fits = await start(worker.name, {
      args: { command: ['true'], logfiles: logfiles(LIMITS.logNamesPerCommand, 256) },
    });
    // Assess
    assert.equal(many.status, 400, many.text);
    assert.match(String(many.body.message), /^args: declares more than 64 logfiles/);
    assert.equal(long.status, 400, long.text);
    assert.equal(fits.status, 202, fits.text);
    assert.equal((await listed(worker.name)).length, 1);
  });

  it('lists a worker whose stored record holds args nested 4,000 deep (planted) without a 500', async () => {
    // Prepare: a record written before the edge bounded depth.
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.startCommand(worker);
    const { Items: [record] = [] } = { Items: await commandItems(t.h.db, t.h.table, commandId) };
    await t.h.db.send(
      new PutCommand({
        TableName: t.h.table,
        Item: { ...record, ...commandKey(commandId), argsJson: JSON.stringify(nested(4000)) },
      }),
    );
    // Act
    const list = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands?worker=${worker.name}`);
    const one = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    // Assess
    assert.equal(list.status, 200, list.text);
    assert.equal(one.status, 200, one.text);
  });
});

describe('list cursors', () => {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const decode = (cursor: string): Record<string, unknown> =>
    JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;

  it('pages through every command one at a time, each cursor free of table keys', async () => {
    // Prepare: the byWorker index also holds the worker's token item, whose key is the token's hash.
    const worker = await t.h.onlineWorker();
    const started = [
      await t.h.startCommand(worker),
      await t.h.startCommand(worker),
      await t.h.startCommand(worker),
    ];
    // Act
    const seen: string[] = [];
    const cursors: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const answer = await t.h.call<{ commands: { commandId: string }[]; next?: string }>(
        t.stack.tokens.client,
        'GET',
        `/v1/commands?worker=${worker.name}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(answer.status, 200, answer.text);
      seen.push(...answer.body.commands.map((command) => command.commandId));
      cursor = answer.body.next;
      if (!cursor) break;
      cursors.push(cursor);
    }
    // Assess
    assert.deepEqual(seen, [...started].reverse());
    for (const text of cursors) {
      const fields = decode(text);
      assert.ok(Object.keys(fields).every((key) => ['commandId', 'createdAt', 'worker'].includes(key)));
      assert.ok(!/TOKEN|CMD#|pk|sk/.test(JSON.stringify(fields)), JSON.stringify(fields));
    }
  });

  it('refuses every hand-made cursor with 400', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const other = await t.h.onlineWorker();
    await t.h.startCommand(worker);
    await t.h.startCommand(worker);
    const otherId = await t.h.startCommand(other);
    const first = await t.h.call<{ next?: string }>(
      t.stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&limit=1`,
    );
    const real = first.body.next!;
    assert.ok(real, 'a first page of one has a cursor');
    const decoded = decode(real);
    const forged: Record<string, string> = {
      'not base64 JSON': 'nonsense',
      'a number': encode(5),
      'an array': encode([1, 2]),
      'an empty object': encode({}),
      'a DynamoDB start key': encode({ pk: `CMD#${otherId}`, sk: 'CMD', worker: worker.name, createdAt: 1 }),
      'a DynamoDB attribute value': encode({ ...decoded, createdAt: { N: '1' } }),
      'another worker': encode({ ...decoded, worker: other.name, commandId: otherId }),
      'a command id of another shape': encode({ ...decoded, commandId: 'TOKEN#x' }),
      'an extra key': encode({ ...decoded, extra: 1 }),
      'a text createdAt': encode({ ...decoded, createdAt: 'now' }),
      'a negative createdAt': encode({ ...decoded, createdAt: -1 }),
      'an altered cursor': real.slice(0, -2) + (real.endsWith('AA') ? 'BB' : 'AA'),
    };
    // Act
    const next = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}&limit=1&cursor=${real}`,
    );
    const answers = await Promise.all(
      Object.entries(forged).map(async ([what, cursor]) => ({
        what,
        answer: await t.h.call(
          t.stack.tokens.client,
          'GET',
          `/v1/commands?worker=${worker.name}&cursor=${encodeURIComponent(cursor)}`,
        ),
      })),
    );
    // Assess
    assert.equal(next.status, 200, next.text);
    for (const { what, answer } of answers) {
      assert.equal(answer.status, 400, `${what}: ${answer.status} ${answer.text}`);
      assert.equal(answer.body.code, 'invalid_request', what);
    }
  });
});

describe('a worker that would grow the command record', () => {
  it(`refuses log names past ${LIMITS.logNamesPerCommand} per command with 413 and stores nothing`, async () => {
    // Prepare: the limit's names in one batch (taken), then one more name.
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const names = Array.from({ length: LIMITS.logNamesPerCommand }, (_, i) => `log-${i}`.padEnd(200, 'x'));
    const taken = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: names.map((name, seq) => [{ log: [name, 'text\n'] }, seq]),
    });
    // Act
    const refused = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ log: ['one-more', 'text\n'] }, names.length]],
    });
    const onComplete = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
      lastSeq: names.length,
      updates: [[{ log: ['one-more', 'text\n'] }, names.length]],
    });
    // Assess
    assert.equal(taken.status, 200, taken.text);
    assert.equal(refused.status, 413, refused.text);
    assert.equal(refused.body.code, 'payload_too_large');
    assert.equal(refused.body.limit, LIMITS.logNamesPerCommand);
    assert.equal(onComplete.status, 413, onComplete.text);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    const record = items.find((item) => item.sk === 'CMD')!;
    assert.equal(record.acked, names.length - 1);
    assert.equal(record.status, 'running');
    assert.equal(items.length, 2, 'the record and the first batch only');
  });
});
