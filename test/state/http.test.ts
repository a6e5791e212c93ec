import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { TokenStore } from '../../shared/auth/tokens.ts';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import * as ENV from '../../shared/config.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { objectKey } from '../../shared/state/keys.ts';
import { apiCaller } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

/** The state API over HTTP, through the local gateway, its authorizer and functions/state.ts. */
let stack: TestStack;
let state: StateConnector;
let workerToken: string;
let objectId: number;
let unique = 0;

const NOTHING = Symbol('nothing stored');

function fresh(prefix: string): string {
  unique += 1;
  return `${prefix} #${unique}`;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** The client's token unless told otherwise (null: none); only the status and body, which the tests compare whole. */
async function call(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; rawBody?: string } = {},
): Promise<Answer> {
  const token = opts.token === undefined ? stack.tokens.client : (opts.token ?? undefined);
  const raw =
    opts.rawBody === undefined
      ? undefined
      : { body: opts.rawBody, headers: { 'content-type': 'application/json' } };
  const { status, body } = await apiCaller(stack)(token, method, path, opts.body, raw);
  return { status, body };
}

function statePath(name: string, id: number | string = objectId): string {
  return `/v1/objects/${id}/state/${encodeURIComponent(name)}`;
}

async function stored(name: string): Promise<unknown> {
  return state.getState(objectId, name, NOTHING);
}

describe('state HTTP API', () => {
  before(async () => {
    stack = await useStack();
    state = StateConnector.fromEnv();
    objectId = await state.getObjectId('http-tests', 'StateHttpTest');
    const tokens = new TokenStore({
      client: dynamoDocumentClient(),
      tableName: stack.env[ENV.commandsTable] ?? '',
    });
    workerToken = (await tokens.issue({ role: 'worker', worker: 'w1' })).token;
  });

  after(async () => {
    await stack?.release();
  });

  describe('success', () => {
    it('POST /v1/objects answers the object id, the same one each time, for client and admin', async () => {
      // Act
      const first = await call('POST', '/v1/objects', { body: { name: 'poller', className: 'GitPoller' } });
      const again = await call('POST', '/v1/objects', {
        token: stack.tokens.admin,
        body: { name: 'poller', className: 'GitPoller' },
      });
      // Assess
      assert.equal(first.status, 200);
      assert.equal(typeof first.body.objectId, 'number');
      assert.deepEqual(again, first);
      assert.equal(await state.getObjectId('poller', 'GitPoller'), first.body.objectId);
    });

    it('PUT stores a value and answers it; GET answers it back', async () => {
      // Prepare
      const name = fresh('put');
      // Act
      const put = await call('PUT', statePath(name), { body: { value: { rev: 'abc', n: [1, null] } } });
      const got = await call('GET', statePath(name), { token: stack.tokens.admin });
      // Assess
      assert.deepEqual(put, { status: 200, body: { value: { rev: 'abc', n: [1, null] } } });
      assert.deepEqual(got, put);
      assert.deepEqual(await stored(name), { rev: 'abc', n: [1, null] });
    });

    it('PUT stores null as a value', async () => {
      // Prepare
      const name = fresh('null');
      // Act
      const put = await call('PUT', statePath(name), { body: { value: null } });
      // Assess
      assert.deepEqual(put, { status: 200, body: { value: null } });
      assert.deepEqual(await call('GET', statePath(name)), put);
    });

    it('POST .../create answers 201 created the first time and 200 with the first value after', async () => {
      // Prepare
      const name = fresh('create');
      // Act
      const first = await call('POST', `${statePath(name)}/create`, { body: { value: 'one' } });
      const second = await call('POST', `${statePath(name)}/create`, { body: { value: 'two' } });
      // Assess
      assert.deepEqual(first, { status: 201, body: { value: 'one', created: true } });
      assert.deepEqual(second, { status: 200, body: { value: 'one', created: false } });
      assert.equal(await stored(name), 'one');
    });
  });

  describe('refusals', () => {
    it('answers 404 state_not_found for a missing value', async () => {
      // Act
      const answer = await call('GET', statePath(fresh('missing')));
      // Assess
      assert.equal(answer.status, 404);
      assert.equal(answer.body.code, 'state_not_found');
    });

    it('answers 401 with no token and with a wrong token, and stores nothing', async () => {
      // Prepare
      const name = fresh('unauthorized');
      // Act
      const answers = [
        await call('PUT', statePath(name), { token: null, body: { value: 1 } }),
        await call('PUT', statePath(name), { token: 'bbs_client_wrong', body: { value: 1 } }),
        await call('POST', `${statePath(name)}/create`, { token: 'bbs_client_wrong', body: { value: 1 } }),
        await call('POST', '/v1/objects', { token: null, body: { name, className: 'Unauthorized' } }),
        await call('GET', statePath(name), { token: 'bbs_client_wrong' }),
      ];
      // Assess
      assert.deepEqual(
        answers.map((a) => a.status),
        [401, 401, 401, 401, 401],
      );
      assert.equal(await stored(name), NOTHING);
      assert.equal(await objectKeyItem(name, 'Unauthorized'), undefined);
    });

    it('answers 403 to a worker token on every route, and stores nothing', async () => {
      // Prepare
      const name = fresh('forbidden');
      // Act
      const answers = [
        await call('PUT', statePath(name), { token: workerToken, body: { value: 1 } }),
        await call('POST', `${statePath(name)}/create`, { token: workerToken, body: { value: 1 } }),
        await call('GET', statePath(name), { token: workerToken }),
        await call('POST', '/v1/objects', { token: workerToken, body: { name, className: 'Forbidden' } }),
      ];
      // Assess
      assert.deepEqual(
        answers.map((a) => a.status),
        [403, 403, 403, 403],
      );
      assert.equal(await stored(name), NOTHING);
      assert.equal(await objectKeyItem(name, 'Forbidden'), undefined);
    });

    it('answers 400 to malformed JSON, wrong types, a missing field and an unknown field, and stores nothing', async () => {
      // Prepare
      const name = fresh('bad-input');
      // Act
      const answers = {
        malformed: await call('PUT', statePath(name), { rawBody: '{"value": ' }),
        malformedCreate: await call('POST', `${statePath(name)}/create`, { rawBody: 'value=1' }),
        notAnObject: await call('PUT', statePath(name), { body: [1] }),
        missing: await call('PUT', statePath(name), { body: {} }),
        noBody: await call('POST', `${statePath(name)}/create`),
        unknown: await call('PUT', statePath(name), { body: { value: 1, extra: true } }),
        wrongTypes: await call('POST', '/v1/objects', { body: { name: 7, className: 'BadInput' } }),
        missingClassName: await call('POST', '/v1/objects', { body: { name } }),
        unknownObjectField: await call('POST', '/v1/objects', {
          body: { name, className: 'BadInput', id: 3 },
        }),
        badObjectId: await call('PUT', statePath(name, 'abc'), { body: { value: 1 } }),
        zeroObjectId: await call('PUT', statePath(name, 0), { body: { value: 1 } }),
      };
      // Assess
      for (const [what, answer] of Object.entries(answers)) {
        assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
        assert.equal(typeof answer.body.message, 'string');
      }
      assert.match(String(answers.unknown.body.message), /extra: unknown field/);
      assert.match(String(answers.missing.body.message), /value: required/);
      assert.equal(await stored(name), NOTHING);
      assert.equal(await objectKeyItem('7', 'BadInput'), undefined);
      assert.equal(await objectKeyItem(name, 'BadInput'), undefined);
    });

    it('answers 413 to a body over 1 MiB and to a value over the size limit, and stores nothing', async () => {
      // Prepare
      const name = fresh('too-large');
      // Act
      const body = await call('PUT', statePath(name), { body: { value: 'x'.repeat(1024 * 1024 + 1) } });
      const value = await call('PUT', statePath(name), { body: { value: 'x'.repeat(400 * 1024) } });
      const created = await call('POST', `${statePath(name)}/create`, {
        body: { value: 'x'.repeat(400 * 1024) },
      });
      // Assess
      assert.equal(body.status, 413);
      assert.equal(value.status, 413);
      assert.equal(value.body.code, 'state_value_too_large');
      assert.equal(created.status, 413);
      assert.equal(await stored(name), NOTHING);
    });
  });
});

async function objectKeyItem(name: string, className: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamoDocumentClient().send(
    new GetCommand({
      TableName: stack.env[ENV.stateTable],
      Key: objectKey(name, className),
      ConsistentRead: true,
    }),
  );
  return Item;
}
