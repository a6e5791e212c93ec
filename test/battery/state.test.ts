// The bad-input battery of the state routes: each answers its 4xx, and a fresh state value stays missing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as LIMITS from '../../shared/limits.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { harness } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { MALFORMED, assertRefused, long, rawJson, sendArgs, tokenOf } from './battery.ts';
import type { Body, Caller, HttpCase } from './battery.ts';

let stack: TestStack;
let h: ReturnType<typeof harness>;
let other: TestWorker;

before(async () => {
  stack = await useStack();
  h = harness(stack);
  other = await h.onlineWorker();
});

after(async () => {
  await stack?.release();
});

const INVALID = { status: 400, code: 'invalid_request' };
const FORBIDDEN = { status: 403, code: 'forbidden' };

/** A case's fixture: a fresh online worker, a name nobody registered, and a fresh object id with no state. */
interface Fixture {
  worker: TestWorker;
  unused: string;
  objectId: number;
  stateName: string;
}

function statePath(f: Fixture, objectId: string | number = f.objectId, name = f.stateName): string {
  return `/v1/objects/${objectId}/state/${encodeURIComponent(name)}`;
}

function put(body: Body | undefined, as: Caller = 'client', path?: (f: Fixture) => string) {
  return (f: Fixture) => ({ as, method: 'PUT', path: path ? path(f) : statePath(f), body });
}

function create(body: Body | undefined, as: Caller = 'client', path?: (f: Fixture) => string) {
  return (f: Fixture) => ({ as, method: 'POST', path: `${path ? path(f) : statePath(f)}/create`, body });
}

function objects(body: Body, as: Caller = 'client') {
  return { as, method: 'POST', path: '/v1/objects', body };
}

export const STATE_CASES: HttpCase<Fixture>[] = [
  { name: 'an object id request with malformed JSON', request: () => objects(MALFORMED), ...INVALID },
  {
    name: 'an object id request with no className',
    request: () => objects({ json: { name: 'n' } }),
    ...INVALID,
  },
  {
    name: 'an object id request whose name is a number',
    request: () => objects({ json: { name: 1, className: 'C' } }),
    ...INVALID,
  },
  {
    name: 'an object id request with an empty name',
    request: () => objects({ json: { name: '', className: 'C' } }),
    ...INVALID,
  },
  {
    name: `an object id request with a name over ${LIMITS.stateNameLength} characters`,
    request: () => objects({ json: { name: long(LIMITS.stateNameLength + 1), className: 'C' } }),
    ...INVALID,
  },
  {
    name: 'an object id request with an unknown field',
    request: () => objects({ json: { name: 'n', className: 'C', objectId: 1 } }),
    ...INVALID,
  },
  {
    name: 'an object id request with __proto__ as a key',
    request: () => objects(rawJson('{"name":"n","className":"C","__proto__":{"objectId":1}}')),
    ...INVALID,
  },
  {
    name: 'an object id request as a worker',
    request: () => objects({ json: { name: 'n', className: 'C' } }, 'worker'),
    ...FORBIDDEN,
  },
  {
    name: `an object id request over ${LIMITS.clientBodyBytes} bytes`,
    request: () => objects({ json: { name: 'n', className: 'C', pad: long(LIMITS.clientBodyBytes + 10) } }),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'a setState with malformed JSON', request: put(MALFORMED), ...INVALID },
  { name: 'a setState with no value', request: put({ json: {} }), ...INVALID },
  { name: 'a setState with an unknown field', request: put({ json: { value: 1, ttl: 5 } }), ...INVALID },
  {
    name: 'a setState with __proto__ as a key',
    request: put(rawJson('{"__proto__":{"value":1}}')),
    ...INVALID,
  },
  {
    name: 'a setState with constructor beside value',
    request: put(rawJson('{"value":1,"constructor":1}')),
    ...INVALID,
  },
  { name: 'a setState as a JSON array', request: put({ json: [1] }), ...INVALID },
  {
    name: 'a setState on object id 0',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, 0)),
    ...INVALID,
  },
  {
    name: 'a setState on object id abc',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, 'abc')),
    ...INVALID,
  },
  {
    name: 'a setState on an object id of 17 digits',
    request: put({ json: { value: 1 } }, 'client', (f) => statePath(f, '1'.repeat(17))),
    ...INVALID,
  },
  {
    name: `a setState of a name over ${LIMITS.stateNameLength} characters`,
    request: put({ json: { value: 1 } }, 'client', (f) =>
      statePath(f, f.objectId, long(LIMITS.stateNameLength + 1)),
    ),
    ...INVALID,
  },
  { name: 'a setState as a worker', request: put({ json: { value: 1 } }, 'worker'), ...FORBIDDEN },
  { name: 'a setState with no token', request: put({ json: { value: 1 } }, 'none'), status: 401 },
  {
    name: 'a setState with an unknown token',
    request: put({ json: { value: 1 } }, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: `a setState over ${LIMITS.clientBodyBytes} bytes`,
    request: put({ json: { value: long(LIMITS.clientBodyBytes + 10) } }),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'a create with malformed JSON', request: create(MALFORMED), ...INVALID },
  { name: 'a create with no value', request: create({ json: {} }), ...INVALID },
  {
    name: 'a create with an unknown field',
    request: create({ json: { value: 1, ifAbsent: true } }),
    ...INVALID,
  },
  {
    name: 'a create with __proto__ as a key',
    request: create(rawJson('{"value":1,"__proto__":{"created":true}}')),
    ...INVALID,
  },
  {
    name: 'a create on object id -1',
    request: create({ json: { value: 1 } }, 'client', (f) => statePath(f, -1)),
    ...INVALID,
  },
  {
    name: `a create of a value over ${LIMITS.stateValueBytes} bytes`,
    request: create({ json: { value: long(LIMITS.stateValueBytes + 10) } }),
    status: 413,
    code: 'state_value_too_large',
  },
  { name: 'a create as a worker', request: create({ json: { value: 1 } }, 'worker'), ...FORBIDDEN },
  { name: 'a create with no token', request: create({ json: { value: 1 } }, 'none'), status: 401 },
  {
    name: 'a read of state on object id 0',
    request: (f) => ({ as: 'client', method: 'GET', path: statePath(f, 0) }),
    ...INVALID,
  },
  {
    name: 'a read of state as a worker',
    request: (f) => ({ as: 'worker', method: 'GET', path: statePath(f) }),
    ...FORBIDDEN,
  },
];

/** What the case may not change: the fresh worker as the admin reads it, the unused name, the fresh state value. */
async function snapshot(f: Fixture) {
  const worker = await h.call(stack.tokens.admin, 'GET', `/v1/workers/${f.worker.name}`);
  const unused = await h.call(stack.tokens.admin, 'GET', `/v1/workers/${f.unused}`);
  const state = await h.call(stack.tokens.client, 'GET', statePath(f));
  return { worker: worker.body, unusedStatus: unused.status, stateStatus: state.status };
}

async function fixture(): Promise<Fixture> {
  const worker = await h.onlineWorker();
  const made = await h.call<{ objectId: number }>(stack.tokens.client, 'POST', '/v1/objects', {
    name: uniqueName('battery'),
    className: 'Battery',
  });
  assert.equal(made.status, 200, made.text);
  return {
    worker,
    unused: uniqueName('unused'),
    objectId: made.body.objectId,
    stateName: uniqueName('state'),
  };
}

function battery(title: string, cases: HttpCase<Fixture>[]) {
  describe(title, () => {
    for (const testCase of cases) {
      it(
        `refuses ${testCase.name} with ${testCase.status} and changes nothing`,
        { todo: testCase.todo },
        async () => {
          // Prepare
          const f = await fixture();
          const before = await snapshot(f);
          const { as, method, path, body } = testCase.request(f);
          // Act
          const answer = await h.call(
            tokenOf(as, stack.tokens, f.worker, other),
            method!,
            path!,
            ...sendArgs(body),
          );
          // Assess
          assertRefused(answer, testCase, testCase.name);
          const after = await snapshot(f);
          assert.deepEqual(after, before, 'the worker, the unused name and the state are as they were');
          assert.equal(after.unusedStatus, 404, 'the unused name is still unregistered');
          assert.equal(after.stateStatus, 404, 'the state value is still missing');
        },
      );
    }
  });
}

battery('the bad-input battery: state', STATE_CASES);
