// Secrets: given at start, filled in on the worker, masked in every output before it leaves, never stored anywhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import * as ENV from '../../shared/config.ts';
import { checkSecretReferences, interpolateSecrets, secretNamesIn } from '../../shared/commands/secrets.ts';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import { SecretMasker } from '../../worker/secretMasker.ts';
import { apiCaller, readLog, readUpdates, startCommand, waitForCommand } from '../support/api.ts';
import { oneWorkerFixture } from './helpers.ts';

const SECRETS = { TOKEN: 'tok-8f3a91c2d7e6b5a4', PASSWORD: 'hunter2-correct-horse' };

function joined(updates: CommandUpdate[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const update of updates) {
    for (const key of ['stdout', 'stderr', 'header'] as const)
      if (update[key] !== undefined) out[key] = (out[key] ?? '') + update[key];
    if (update.log) out[`log:${update.log[0]}`] = (out[`log:${update.log[0]}`] ?? '') + update.log[1];
  }
  return out;
}

describe('the secret masker (pure)', () => {
  it('masks a value split at every point across two chunks, and holds nothing past a non-text update', () => {
    const value = SECRETS.TOKEN;
    for (let cut = 0; cut <= value.length; cut++) {
      // Prepare
      const masker = new SecretMasker(SECRETS);
      const text = `before ${value} after ${value}`;
      const at = 'before '.length + cut;

      // Act
      const out = [
        ...masker.mask({ stdout: text.slice(0, at) }),
        ...masker.mask({ stdout: text.slice(at) }),
        ...masker.mask({ rc: 0 }),
      ];

      // Assess
      assert.equal(joined(out).stdout, 'before <TOKEN> after <TOKEN>', `cut at ${cut}`);
      assert.deepEqual(out.at(-1), { rc: 0 });
    }
  });

  it('keeps streams apart, masks the longest value first, and holds only what could begin a value', () => {
    // Prepare
    const masker = new SecretMasker({ SHORT: 'abc', LONG: 'xxabcxx' });

    // Act
    const first = masker.mask({ stderr: 'plain text, nothing held' });
    const partial = masker.mask({ stdout: 'one xxab' });
    const other = masker.mask({ log: ['junit', 'xxabcxx and abc'] });
    const rest = masker.mask({ stdout: 'cxx two' });

    // Assess
    assert.deepEqual(first, [{ stderr: 'plain text, nothing held' }]);
    assert.deepEqual(partial, [{ stdout: 'one ' }]);
    assert.deepEqual(other, [{ log: ['junit', '<LONG> and <SHORT>'] }]);
    assert.deepEqual(rest, [{ stdout: '<LONG> two' }]);
  });

  it('masks a message whole, and does nothing without secrets', () => {
    assert.equal(new SecretMasker(SECRETS).maskText(`no ${SECRETS.PASSWORD}!`), 'no <PASSWORD>!');
    assert.deepEqual(new SecretMasker({}).mask({ stdout: 'tok-8f3a' }), [{ stdout: 'tok-8f3a' }]);
  });
});

describe('secret references (pure)', () => {
  it('finds %(secret:NAME)s in any string of args and fills it in, keys untouched', () => {
    const args = { command: ['curl', '-u', 'me:%(secret:PASSWORD)s'], env: { T: '%(secret:TOKEN)s' } };
    assert.deepEqual([...secretNamesIn(args)].sort(), ['PASSWORD', 'TOKEN']);
    assert.deepEqual(interpolateSecrets(args, SECRETS), {
      command: ['curl', '-u', `me:${SECRETS.PASSWORD}`],
      env: { T: SECRETS.TOKEN },
    });
    assert.throws(() => interpolateSecrets({ a: '%(secret:NOPE)s' }, SECRETS), /secret NOPE/);
    assert.throws(() => checkSecretReferences({ a: '%(secret:NOPE)s' }, SECRETS), /%\(secret:NOPE\)s/);
    assert.deepEqual(checkSecretReferences({ a: 'x' }, SECRETS), ['PASSWORD', 'TOKEN']);
  });
});

const t = oneWorkerFixture('secrets', ['--concurrency', '2']);

describe('secrets through the API and a real worker', () => {
  it('prints each secret thousands of times across chunk edges and stores none of them anywhere', async () => {
    // Prepare: the values reach the process through args and env, and come back on stdout, stderr and headers.
    const id = await startCommand(
      t.stack,
      t.worker.name,
      'shell',
      {
        command: [
          'sh',
          '-c',
          'i=0; while [ $i -lt 3000 ]; do printf "%s|%s" "$T" "$1"; i=$((i+1)); done; echo "$T" >&2',
          'sh',
          '%(secret:PASSWORD)s',
        ],
        env: { T: '%(secret:TOKEN)s' },
        workdir: '.',
      },
      { secrets: SECRETS },
    );

    // Act
    const view = await waitForCommand(t.stack, id, undefined, 60_000);
    const log = await readLog(t.stack, id);
    const updates = JSON.stringify(await readUpdates(t.stack, id));
    const db = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: t.stack.env[ENV.awsRegion],
        endpoint: t.stack.env[ENV.awsEndpointUrlDynamodb],
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
    );
    const { Items = [] } = await db.send(
      new QueryCommand({
        TableName: t.stack.env[ENV.commandsTable],
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `CMD#${id}` },
      }),
    );
    const stored = JSON.stringify(Items, (_key, value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value,
    );

    // Assess
    assert.equal(view.rc, 0);
    assert.deepEqual(view.secretNames, ['PASSWORD', 'TOKEN']);
    assert.deepEqual(
      view.args.env,
      { T: '%(secret:TOKEN)s' },
      'the record keeps the reference, not the value',
    );
    assert.equal(log.split('<TOKEN>|<PASSWORD>').length - 1, 3000);
    assert.match(log, /T=<TOKEN>/, 'the environment header is masked');
    assert.match(log, /<TOKEN>\n/, 'stderr is masked');
    for (const value of Object.values(SECRETS))
      for (const [where, text] of Object.entries({ log, updates, stored, agent: t.proc.output() }))
        assert.equal(text.includes(value), false, `${where} holds a secret value`);
  });

  it('refuses bad secrets and references with a 4xx that echoes no value, and stores nothing', async () => {
    // Prepare
    const call = apiCaller(t.stack);
    const body = (extra: Record<string, unknown>) => ({
      worker: t.worker.name,
      command: 'shell',
      args: { command: 'true', workdir: '.' },
      idempotencyKey: `bad-secret-${Math.random()}`,
      ...extra,
    });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['a name that is not one', { secrets: { '1x': 'v' } }, /secrets/],
      ['a prototype key', { secrets: JSON.parse('{"__proto__": "v"}') as object }, /__proto__/],
      ['an empty value', { secrets: { A: '' } }, /secrets\.A/],
      ['a value too long', { secrets: { A: 'x'.repeat(4097) } }, /secrets\.A: longer than 4096/],
      ['a number', { secrets: { A: 8675309 } }, /secrets\.A: expected a string, got number/],
      [
        'too many',
        { secrets: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`S${i}`, 'v'])) },
        /more than 32/,
      ],
      [
        'a reference not given',
        { args: { command: 'echo %(secret:MISSING)s', workdir: '.' }, secrets: { OTHER: 'zz-value' } },
        /%\(secret:MISSING\)s, which secrets does not give/,
      ],
    ];

    for (const [name, extra, message] of cases) {
      // Act
      const answer = await call(t.stack.tokens.client, 'POST', '/v1/commands', body(extra));

      // Assess
      assert.equal(answer.status, 400, `${name}: ${answer.text}`);
      assert.match(answer.text, message, name);
      assert.doesNotMatch(answer.text, /8675309|zz-value/, `${name}: the error echoes a value`);
    }
    const listed = await call<{ commands: unknown[] }>(
      t.stack.tokens.client,
      'GET',
      `/v1/commands?worker=${t.worker.name}&limit=50`,
    );
    assert.equal(listed.body.commands.length, 1, 'only the first test’s command is stored');
  });

  it('treats a repeat of an idempotency key with other secret names as another request', async () => {
    // Prepare
    const call = apiCaller(t.stack);
    const start = (secrets: Record<string, string>) =>
      call<{ commandId: string; code?: string }>(t.stack.tokens.client, 'POST', '/v1/commands', {
        worker: t.worker.name,
        command: 'shell',
        args: { command: 'true', workdir: '.' },
        idempotencyKey: 'secret-names',
        secrets,
      });

    // Act
    const first = await start({ A: 'one' });
    const sameNames = await start({ A: 'two' });
    const otherNames = await start({ B: 'one' });

    // Assess
    assert.equal(first.status, 202);
    assert.equal(sameNames.body.commandId, first.body.commandId);
    assert.equal(otherNames.status, 409);
    await waitForCommand(t.stack, first.body.commandId);
  });
});
