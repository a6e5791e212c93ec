// GET /v1/objects/{objectId}/state/{name}?default=<JSON>: Buildbot's getState(objectid, name, default) over HTTP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { ApiError } from '../../shared/client/errors.ts';
import * as LIMITS from '../../shared/limits.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { StateValueTooLargeError } from '../../shared/state/errors.ts';
import { parseStateDefault } from '../../shared/state/wire.ts';
import { apiCaller } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

let stack: TestStack;
let state: StateConnector;
let objectId: number;
let unique = 0;

function fresh(prefix: string): string {
  unique += 1;
  return `${prefix}-${unique}`;
}

/** GET of `name` with `?default=` set to `defaultText` as it is (URL-encoded here), or with no query at all. */
async function get(
  name: string,
  defaultText?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const query = defaultText === undefined ? '' : `?default=${encodeURIComponent(defaultText)}`;
  const path = `/v1/objects/${objectId}/state/${encodeURIComponent(name)}${query}`;
  const { status, body } = await apiCaller(stack)(stack.tokens.client, 'GET', path);
  return { status, body };
}

describe('state over HTTP with a default', () => {
  before(async () => {
    stack = await useStack();
    state = StateConnector.fromEnv();
    objectId = await state.getObjectId('http-default-tests', 'StateDefaultTest');
  });

  after(async () => {
    await stack?.release();
  });

  describe('success', () => {
    it('answers 200 with the parsed default when no value is stored', async () => {
      // Act
      const object = await get(fresh('missing'), '{"rev":"abc","n":[1,2.5,null]}');
      const nul = await get(fresh('missing'), 'null');
      const text = await get(fresh('missing'), '"é✓ text"');
      // Assess
      assert.deepEqual(object, { status: 200, body: { value: { rev: 'abc', n: [1, 2.5, null] } } });
      assert.deepEqual(nul, { status: 200, body: { value: null } });
      assert.deepEqual(text, { status: 200, body: { value: 'é✓ text' } });
    });

    it('answers the stored value, not the default, when one is stored (a stored null included)', async () => {
      // Prepare
      const name = fresh('stored');
      const nulName = fresh('stored-null');
      await state.setState(objectId, name, { kept: true });
      await state.setState(objectId, nulName, null);
      // Act
      const answer = await get(name, '"the default"');
      const nul = await get(nulName, '0');
      // Assess
      assert.deepEqual(answer, { status: 200, body: { value: { kept: true } } });
      assert.deepEqual(nul, { status: 200, body: { value: null } });
    });

    it('stores nothing: a read with a default leaves the value missing', async () => {
      // Prepare
      const name = fresh('untouched');
      // Act
      await get(name, '42');
      const after = await get(name);
      // Assess
      assert.equal(after.status, 404);
    });

    it('CommandsClient.getState takes the default as its third argument, as the connector does', async () => {
      // Prepare
      const api = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
      const name = fresh('client');
      // Act
      const given = await api.getState(objectId, name, { a: 1 });
      const nul = await api.getState(objectId, name, null);
      const undef = await api.getState(objectId, name, undefined);
      const missing = await api.getState(objectId, name).then(
        () => undefined,
        (error: unknown) => error,
      );
      await api.setState(objectId, name, 'stored');
      const stored = await api.getState(objectId, name, 'default');
      // Assess
      assert.deepEqual(given, { a: 1 });
      assert.equal(nul, null);
      assert.equal(undef, undefined);
      assert.ok(missing instanceof ApiError && missing.status === 404, String(missing));
      assert.equal(stored, 'stored');
    });
  });

  describe('failure and bad input', () => {
    it('without a default a missing value stays 404 state_not_found', async () => {
      // Act
      const answer = await get(fresh('none'));
      // Assess
      assert.equal(answer.status, 404);
      assert.equal(answer.body.code, 'state_not_found');
    });

    it('a default that is not JSON is 400 naming default, even when a value is stored', async () => {
      // Prepare
      const name = fresh('bad');
      await state.setState(objectId, name, 1);
      for (const text of ['', 'abc', '{"a":', 'undefined', 'NaN', "'single'"]) {
        // Act
        const missing = await get(fresh('bad-missing'), text);
        const present = await get(name, text);
        // Assess
        for (const answer of [missing, present]) {
          assert.equal(answer.status, 400, `${JSON.stringify(text)}: ${JSON.stringify(answer.body)}`);
          assert.equal(answer.body.code, 'invalid_request');
          assert.equal(answer.body.path, 'default');
          assert.match(String(answer.body.message), /^default: /);
        }
      }
    });

    it('a default JSON cannot hold as a value (1e999 is Infinity) is 400, as PUT refuses it', async () => {
      // Act
      const answer = await get(fresh('infinite'), '1e999');
      // Assess
      assert.equal(answer.status, 400);
      assert.equal(answer.body.code, 'state_not_json');
    });

    it('a default over the state value limit is state_value_too_large (413), as text or once parsed', () => {
      // Prepare: URLs this long do not pass the gateway, so the parser is asked directly.
      const text = JSON.stringify('x'.repeat(LIMITS.stateValueBytes));
      const grows = `[${'1e5,'.repeat(LIMITS.stateValueBytes / 5)}0]`; // under the limit as text, over once parsed
      // Act, Assess
      for (const raw of [text, grows])
        assert.throws(
          () => parseStateDefault({ default: raw }),
          (error: unknown) =>
            error instanceof StateValueTooLargeError &&
            (error.constructor as typeof StateValueTooLargeError).httpStatus === 413,
        );
      assert.deepEqual(parseStateDefault({}), { given: false });
      assert.deepEqual(parseStateDefault({ default: 'null' }), { given: true, value: null });
    });
  });
});
