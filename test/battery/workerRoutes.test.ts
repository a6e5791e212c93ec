// The bad-input battery of a worker's claim, updates and complete: each answers its 4xx and no update item or status change is stored.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as LIMITS from '../../shared/limits.ts';
import { commandItems } from '../commands/helpers.ts';
import { MALFORMED, assertRefused, long, rawJson, batteryStack, sendArgs, tokenOf } from './battery.ts';
import type { Body, Caller, HttpCase } from './battery.ts';

const t = batteryStack();

const UNKNOWN_ID = 'e'.repeat(32);
const INVALID = { status: 400, code: 'invalid_request' };
const NO_COMMAND = { status: 404, code: 'command_not_found' };
const FORBIDDEN = { status: 403, code: 'forbidden' };

function to(route: string, body?: Body, as: Caller = 'worker') {
  return (id: string) => ({ as, method: 'POST', path: `/v1/commands/${id}/${route}`, body });
}

export const CLAIM_CASES: HttpCase<string>[] = [
  { name: 'a claim as the client', request: to('start', undefined, 'client'), ...FORBIDDEN },
  { name: 'a claim as the admin', request: to('start', undefined, 'admin'), ...FORBIDDEN },
  {
    name: "a claim of another worker's command",
    request: to('start', undefined, 'otherWorker'),
    ...FORBIDDEN,
  },
  { name: 'a claim with no token', request: to('start', undefined, 'none'), status: 401 },
  {
    name: 'a claim with an unknown token',
    request: to('start', undefined, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
  { name: 'a claim with malformed JSON', request: to('start', MALFORMED), ...INVALID },
  {
    name: 'a claim with a claimToken of 15 characters',
    request: to('start', { json: { claimToken: long(15) } }),
    ...INVALID,
  },
  {
    name: 'a claim with a claimToken of 65 characters',
    request: to('start', { json: { claimToken: long(65) } }),
    ...INVALID,
  },
  {
    name: 'a claim with a claimToken holding a slash',
    request: to('start', { json: { claimToken: `${long(16)}/x` } }),
    ...INVALID,
  },
  {
    name: 'a claim with a claimToken that is a number',
    request: to('start', { json: { claimToken: 1234567890123456 } }),
    ...INVALID,
  },
  {
    name: 'a claim with an unknown field',
    request: to('start', { json: { claimToken: long(16), pid: 1 } }),
    ...INVALID,
  },
  {
    name: 'a claim with __proto__ as a key',
    request: to('start', rawJson('{"__proto__":{"claimToken":"aaaaaaaaaaaaaaaaaa"}}')),
    ...INVALID,
  },
  { name: 'a claim of an unknown id', request: () => to('start')(UNKNOWN_ID), ...NO_COMMAND },
  { name: 'a claim of a bad id', request: () => to('start')('..%2F..%2Fworkers'), ...NO_COMMAND },
];

/** An update batch of one update at `seq`. */
function batch(update: unknown, seq: unknown = 0): Body {
  return { json: { updates: [[update, seq]] } };
}

export const UPDATE_CASES: HttpCase<string>[] = [
  { name: 'updates with malformed JSON', request: to('updates', MALFORMED), ...INVALID },
  { name: 'updates as a JSON array', request: to('updates', { json: [[{ stdout: 'x' }, 0]] }), ...INVALID },
  { name: 'updates with no updates field', request: to('updates', { json: {} }), ...INVALID },
  {
    name: 'updates that are an object',
    request: to('updates', { json: { updates: { 0: { stdout: 'x' } } } }),
    ...INVALID,
  },
  {
    name: 'an update pair of three items',
    request: to('updates', { json: { updates: [[{ stdout: 'x' }, 0, 1]] } }),
    ...INVALID,
  },
  {
    name: 'an update with no seq',
    request: to('updates', { json: { updates: [[{ stdout: 'x' }]] } }),
    ...INVALID,
  },
  { name: 'an update at seq -1', request: to('updates', batch({ stdout: 'x' }, -1)), ...INVALID },
  { name: 'an update at seq "0"', request: to('updates', batch({ stdout: 'x' }, '0')), ...INVALID },
  { name: 'an update at seq 0.5', request: to('updates', batch({ stdout: 'x' }, 0.5)), ...INVALID },
  { name: 'an update that is text', request: to('updates', batch('stdout')), ...INVALID },
  { name: 'a stdout that is a number', request: to('updates', batch({ stdout: 5 })), ...INVALID },
  { name: 'an rc that is text', request: to('updates', batch({ rc: '0' })), ...INVALID },
  { name: 'an rc of 2^33', request: to('updates', batch({ rc: 2 ** 33 })), ...INVALID },
  { name: 'an elapsed of -1', request: to('updates', batch({ elapsed: -1 })), ...INVALID },
  {
    name: `a failure_reason over ${LIMITS.failureReasonLength} characters`,
    request: to('updates', batch({ failure_reason: long(LIMITS.failureReasonLength + 1) })),
    ...INVALID,
  },
  { name: 'a log with an empty name', request: to('updates', batch({ log: ['', 'x'] })), ...INVALID },
  {
    name: `a log name over ${LIMITS.logNameLength} characters`,
    request: to('updates', batch({ log: [long(LIMITS.logNameLength + 1), 'x'] })),
    ...INVALID,
  },
  {
    name: `a batch of ${LIMITS.updatesPerBatch + 1} updates`,
    request: to('updates', {
      json: {
        updates: Array.from({ length: LIMITS.updatesPerBatch + 1 }, (_, seq) => [{ stdout: '' }, seq]),
      },
    }),
    ...INVALID,
  },
  {
    name: 'an unknown field beside updates',
    request: to('updates', { json: { updates: [], extra: 1 } }),
    ...INVALID,
  },
  {
    name: 'a batch that starts after a gap',
    request: to('updates', batch({ stdout: 'x' }, 3)),
    status: 409,
    code: 'update_gap',
  },
  {
    name: `a gzip body of ${LIMITS.workerBodyBytes} bytes and more once inflated`,
    request: to('updates', {
      text: gzipSync(JSON.stringify({ updates: [[{ stdout: long(LIMITS.workerBodyBytes + 10) }, 0]] })),
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    }),
    status: 413,
    code: 'payload_too_large',
  },
  { name: 'updates as the client', request: to('updates', batch({ stdout: 'x' }), 'client'), ...FORBIDDEN },
  {
    name: "updates to another worker's command",
    request: to('updates', batch({ stdout: 'x' }), 'otherWorker'),
    ...FORBIDDEN,
  },
  { name: 'updates with no token', request: to('updates', batch({ stdout: 'x' }), 'none'), status: 401 },
  {
    name: 'updates to an unknown id',
    request: () => to('updates', batch({ stdout: 'x' }))(UNKNOWN_ID),
    ...NO_COMMAND,
  },
  {
    name: 'updates to a bad id',
    request: () => to('updates', batch({ stdout: 'x' }))('nothex'),
    ...NO_COMMAND,
  },
];

export const COMPLETE_CASES: HttpCase<string>[] = [
  { name: 'a complete with malformed JSON', request: to('complete', MALFORMED), ...INVALID },
  { name: 'a complete with no lastSeq', request: to('complete', { json: {} }), ...INVALID },
  { name: 'a complete with lastSeq -2', request: to('complete', { json: { lastSeq: -2 } }), ...INVALID },
  { name: 'a complete with lastSeq "-1"', request: to('complete', { json: { lastSeq: '-1' } }), ...INVALID },
  {
    name: 'a complete with a failure of an unknown kind',
    request: to('complete', { json: { lastSeq: -1, failure: { kind: 'worker_lost', message: 'x' } } }),
    ...INVALID,
  },
  {
    name: 'a complete with a failure with no message',
    request: to('complete', { json: { lastSeq: -1, failure: { kind: 'start_error' } } }),
    ...INVALID,
  },
  {
    name: `a complete with a failure message over ${LIMITS.failureMessageLength} characters`,
    request: to('complete', {
      json: { lastSeq: -1, failure: { kind: 'start_error', message: long(LIMITS.failureMessageLength + 1) } },
    }),
    ...INVALID,
  },
  {
    name: 'a complete with an unknown failure field',
    request: to('complete', {
      json: { lastSeq: -1, failure: { kind: 'start_error', message: 'x', stack: 'y' } },
    }),
    ...INVALID,
  },
  {
    name: 'a complete with completedAt (a pinned result)',
    request: to('complete', { json: { lastSeq: -1, completedAt: 9999 } }),
    ...INVALID,
  },
  {
    name: 'a complete with __proto__ as a key',
    request: to('complete', rawJson('{"lastSeq":-1,"__proto__":{"results":0}}')),
    ...INVALID,
  },
  {
    name: 'a complete whose lastSeq is not stored',
    request: to('complete', { json: { lastSeq: 4 } }),
    status: 409,
    code: 'update_gap',
  },
  {
    name: 'a complete with a bad update',
    request: to('complete', { json: { lastSeq: 0, updates: [[{ rc: 'zero' }, 0]] } }),
    ...INVALID,
  },
  {
    name: 'a complete as the client',
    request: to('complete', { json: { lastSeq: -1 } }, 'client'),
    ...FORBIDDEN,
  },
  {
    name: 'a complete as the admin',
    request: to('complete', { json: { lastSeq: -1 } }, 'admin'),
    ...FORBIDDEN,
  },
  {
    name: "a complete of another worker's command",
    request: to('complete', { json: { lastSeq: -1 } }, 'otherWorker'),
    ...FORBIDDEN,
  },
  {
    name: 'a complete with no token',
    request: to('complete', { json: { lastSeq: -1 } }, 'none'),
    status: 401,
  },
  {
    name: 'a complete with an unknown token',
    request: to('complete', { json: { lastSeq: -1 } }, 'unknown'),
    status: 401,
    code: 'unauthorized',
  },
];

/** The stored items of a command, with the status and acked of its record. */
async function stored(id: string) {
  const items = await commandItems(t.h.db, t.h.table, id);
  const record = items.find((item) => item.sk === 'CMD');
  return { items: items.length, status: record?.status, acked: record?.acked, claimedAt: record?.claimedAt };
}

function battery(title: string, cases: HttpCase<string>[], claimed: boolean) {
  describe(title, () => {
    for (const testCase of cases) {
      it(
        `refuses ${testCase.name} with ${testCase.status} and stores nothing`,
        { todo: testCase.todo },
        async () => {
          // Prepare: a fresh worker's pending command (for claims) or one it claimed.
          const worker = await t.h.onlineWorker();
          const id = claimed ? await t.h.claimed(worker) : await t.h.startCommand(worker);
          const before = await stored(id);
          const { as, method, path, body } = testCase.request(id);
          // Act
          const answer = await t.h.call(
            tokenOf(as, t.stack.tokens, worker, t.other),
            method!,
            path!,
            ...sendArgs(body),
          );
          // Assess
          assertRefused(answer, testCase, testCase.name);
          const after = await stored(id);
          assert.deepEqual(after, before, 'no update item, no status change');
          assert.equal(after.items, 1, 'only the record');
          assert.equal(after.acked, -1);
        },
      );
    }
  });
}

battery('the bad-input battery: claiming a command', CLAIM_CASES, false);
battery('the bad-input battery: sending updates', UPDATE_CASES, true);
battery('the bad-input battery: completing a command', COMPLETE_CASES, true);
