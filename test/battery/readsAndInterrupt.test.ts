// The bad-input battery of the client's reads and interrupt: bad ids, cursors, queries, bodies, tokens; the command stays as it was.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as LIMITS from '../../shared/limits.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { MALFORMED, assertRefused, long, rawJson, batteryStack, sendArgs, tokenOf } from './battery.ts';
import type { Body, Caller, HttpCase } from './battery.ts';

const t = batteryStack();
/** The online worker whose commands the cases read: made by the first case (a second top-level hook runs too early on Node 20). */
let worker: TestWorker | undefined;

/** The fixture of a case: a worker and its started (pending) command. */
interface Fixture {
  worker: TestWorker;
  id: string;
}

const UNKNOWN_ID = 'f'.repeat(32);
const INVALID = { status: 400, code: 'invalid_request' };
const NO_COMMAND = { status: 404, code: 'command_not_found' };

function get(path: string, as: Caller = 'client') {
  return { as, method: 'GET', path };
}

export const READ_CASES: HttpCase<Fixture>[] = [
  // GET /v1/commands: bad query parameters.
  { name: 'a list with no worker', request: () => get('/v1/commands'), ...INVALID },
  {
    name: 'a list of a worker name with a space',
    request: () => get('/v1/commands?worker=a%20b'),
    ...INVALID,
  },
  {
    name: `a list of a worker name over ${LIMITS.workerNameLength} characters`,
    request: () => get(`/v1/commands?worker=${long(41)}`),
    ...INVALID,
  },
  {
    name: 'a list with limit 0',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&limit=0`),
    ...INVALID,
  },
  {
    name: `a list with limit ${LIMITS.listPageCommands + 1}`,
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&limit=${LIMITS.listPageCommands + 1}`),
    ...INVALID,
  },
  {
    name: 'a list with limit -1',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&limit=-1`),
    ...INVALID,
  },
  {
    name: 'a list with limit 1.5',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&limit=1.5`),
    ...INVALID,
  },
  {
    name: 'a list with limit abc',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&limit=abc`),
    ...INVALID,
  },
  {
    name: 'a list with an unknown status',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&status=bogus`),
    ...INVALID,
  },
  {
    name: 'a list with an unknown query parameter',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&colour=red`),
    ...INVALID,
  },
  {
    name: 'a list with __proto__ as a query parameter',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}&__proto__=x`),
    ...INVALID,
  },
  {
    name: `a list with a cursor over ${LIMITS.listCursorLength} characters`,
    request: (f) =>
      get(`/v1/commands?worker=${f.worker.name}&cursor=${long(LIMITS.listCursorLength + 1, 'A')}`),
    ...INVALID,
  },
  {
    name: 'a list with a cursor of JSON null',
    request: (f) =>
      get(`/v1/commands?worker=${f.worker.name}&cursor=${Buffer.from('null').toString('base64url')}`),
    ...INVALID,
  },
  {
    name: 'a list with a cursor holding __proto__',
    request: (f) =>
      get(
        `/v1/commands?worker=${f.worker.name}&cursor=${Buffer.from('{"__proto__":{"worker":"x"}}').toString('base64url')}`,
      ),
    ...INVALID,
  },
  {
    name: 'a list as a worker',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}`, 'worker'),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a list with no token',
    request: (f) => get(`/v1/commands?worker=${f.worker.name}`, 'none'),
    status: 401,
  },
  // GET /v1/commands/{id}: bad ids and callers.
  { name: 'a view of an unknown id', request: () => get(`/v1/commands/${UNKNOWN_ID}`), ...NO_COMMAND },
  { name: 'a view of a short id', request: () => get('/v1/commands/abc'), ...NO_COMMAND },
  {
    name: 'a view of an upper-case id',
    request: (f) => get(`/v1/commands/${f.id.toUpperCase()}`),
    ...NO_COMMAND,
  },
  {
    name: 'a view of an id with a table key prefix',
    request: (f) => get(`/v1/commands/CMD%23${f.id}`),
    ...NO_COMMAND,
  },
  { name: 'a view of an id 33 digits long', request: (f) => get(`/v1/commands/${f.id}0`), ...NO_COMMAND },
  {
    name: 'a view as a worker',
    request: (f) => get(`/v1/commands/${f.id}`, 'worker'),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a view with an unknown token',
    request: (f) => get(`/v1/commands/${f.id}`, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
  // GET /v1/commands/{id}/updates.
  { name: 'updates after -2', request: (f) => get(`/v1/commands/${f.id}/updates?after=-2`), ...INVALID },
  { name: 'updates after abc', request: (f) => get(`/v1/commands/${f.id}/updates?after=abc`), ...INVALID },
  { name: 'updates after 1.5', request: (f) => get(`/v1/commands/${f.id}/updates?after=1.5`), ...INVALID },
  {
    name: 'updates after 1e400',
    request: (f) => get(`/v1/commands/${f.id}/updates?after=1e400`),
    ...INVALID,
  },
  {
    name: 'updates of an unknown id',
    request: () => get(`/v1/commands/${UNKNOWN_ID}/updates`),
    ...NO_COMMAND,
  },
  { name: 'updates of a bad id', request: () => get('/v1/commands/zz/updates'), ...NO_COMMAND },
  {
    name: 'updates as a worker',
    request: (f) => get(`/v1/commands/${f.id}/updates`, 'worker'),
    status: 403,
    code: 'forbidden',
  },
  // GET /v1/commands/{id}/logs/{name}.
  { name: 'a log after -2', request: (f) => get(`/v1/commands/${f.id}/logs/stdio?after=-2`), ...INVALID },
  { name: 'a log after x', request: (f) => get(`/v1/commands/${f.id}/logs/stdio?after=x`), ...INVALID },
  {
    name: 'a log of an unknown id',
    request: () => get(`/v1/commands/${UNKNOWN_ID}/logs/stdio`),
    ...NO_COMMAND,
  },
  {
    name: 'a log named __proto__ the command lacks',
    request: (f) => get(`/v1/commands/${f.id}/logs/__proto__`),
    status: 404,
    code: 'log_not_found',
  },
  {
    name: 'a log named constructor the command lacks',
    request: (f) => get(`/v1/commands/${f.id}/logs/constructor`),
    status: 404,
    code: 'log_not_found',
  },
  {
    name: 'a log as a worker',
    request: (f) => get(`/v1/commands/${f.id}/logs/stdio`, 'worker'),
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'a log with no token',
    request: (f) => get(`/v1/commands/${f.id}/logs/stdio`, 'none'),
    status: 401,
  },
];

function interrupt(id: string, body?: Body, as: Caller = 'client') {
  return { as, method: 'POST', path: `/v1/commands/${id}/interrupt`, body };
}

export const INTERRUPT_CASES: HttpCase<Fixture>[] = [
  { name: 'malformed JSON', request: (f) => interrupt(f.id, MALFORMED), ...INVALID },
  { name: 'a JSON array', request: (f) => interrupt(f.id, { json: ['why'] }), ...INVALID },
  { name: 'a why that is a number', request: (f) => interrupt(f.id, { json: { why: 5 } }), ...INVALID },
  {
    name: `a why over ${LIMITS.interruptWhyLength} characters`,
    request: (f) => interrupt(f.id, { json: { why: long(LIMITS.interruptWhyLength + 1) } }),
    ...INVALID,
  },
  {
    name: 'an unknown field',
    request: (f) => interrupt(f.id, { json: { why: 'x', force: true } }),
    ...INVALID,
  },
  {
    name: '__proto__ as a key',
    request: (f) => interrupt(f.id, rawJson('{"__proto__":{"why":"x"}}')),
    ...INVALID,
  },
  {
    name: 'constructor as a key',
    request: (f) => interrupt(f.id, rawJson('{"constructor":"x"}')),
    ...INVALID,
  },
  { name: 'an unknown id', request: () => interrupt(UNKNOWN_ID, { json: {} }), ...NO_COMMAND },
  { name: 'a bad id', request: () => interrupt('not-an-id', { json: {} }), ...NO_COMMAND },
  {
    name: "the command's own worker's token",
    request: (f) => interrupt(f.id, { json: {} }, 'worker'),
    status: 403,
    code: 'forbidden',
  },
  {
    name: "another worker's token",
    request: (f) => interrupt(f.id, { json: {} }, 'otherWorker'),
    status: 403,
    code: 'forbidden',
  },
  { name: 'no token', request: (f) => interrupt(f.id, { json: {} }, 'none'), status: 401 },
  {
    name: 'an unknown token',
    request: (f) => interrupt(f.id, { json: {} }, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
];

/** What a client reads of a command: its view and its updates. */
async function snapshot(id: string): Promise<unknown> {
  const view = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${id}`);
  const updates = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${id}/updates`);
  assert.equal(view.status, 200, view.text);
  return { view: view.body, updates: updates.body };
}

function battery(title: string, cases: HttpCase<Fixture>[]) {
  describe(title, () => {
    for (const testCase of cases) {
      it(
        `refuses ${testCase.name} with ${testCase.status} and changes nothing`,
        { todo: testCase.todo },
        async () => {
          // Prepare: a pending command of the online worker.
          worker ??= await t.h.onlineWorker();
          const id = await t.h.startCommand(worker);
          const before = await snapshot(id);
          const { as, method, path, body } = testCase.request({ worker, id });
          // Act
          const answer = await t.h.call(
            tokenOf(as, t.stack.tokens, worker, t.other),
            method!,
            path!,
            ...sendArgs(body),
          );
          // Assess
          assertRefused(answer, testCase, testCase.name);
          assert.deepEqual(await snapshot(id), before, 'the command is as it was');
        },
      );
    }
  });
}

battery('the bad-input battery: reading commands', READ_CASES);
battery('the bad-input battery: interrupting a command', INTERRUPT_CASES);
