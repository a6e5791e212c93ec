import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../shared/errors.ts';
import { parseCompletionEvent } from '../../shared/commands/lastResult.ts';
import {
  parseAfterQuery,
  parseListCommandsQuery,
  startCommandRequest,
  updatesRequest,
} from '../../shared/commands/wire.ts';
import { parse } from '../../shared/schema.ts';
import { parseWorkerMessage } from '../../worker/messages.ts';
import { successEvent } from './helpers.ts';

const ID = 'a'.repeat(32);

describe('commands wire: requests', () => {
  it('keeps the limits of a start request', () => {
    const start = { worker: 'w1', command: 'shell', args: {} };
    assert.deepEqual(parse(startCommandRequest, start), start);
    assert.throws(() => parse(startCommandRequest, { ...start, args: [] }), /args: expected an object/);
    assert.throws(
      () => parse(startCommandRequest, { ...start, worker: 'a b' }),
      /worker: expected a string matching/,
    );
    assert.throws(
      () => parse(startCommandRequest, { ...start, decodeRC: { 0: 7 } }),
      /decodeRC\.0: expected a number <=6/,
    );
    assert.throws(
      () => parse(startCommandRequest, { ...start, timeouts: { start: 0 } }),
      /timeouts\.start: expected a number >=1/,
    );
    assert.throws(
      () => parse(startCommandRequest, { ...start, idempotencyKey: 'k'.repeat(129) }),
      /idempotencyKey: longer than 128 characters/,
    );
  });

  it('names the update and key of a bad update', () => {
    assert.throws(
      () =>
        parse(updatesRequest, {
          updates: [
            [{ stdout: 'a' }, 0],
            [{ colour: 'red' }, 1],
          ],
        }),
      /updates\[1\]\[0\]\.colour: unknown field \(expected stdout, stderr/,
    );
    assert.throws(
      () => parse(updatesRequest, { updates: [[{ rc: 1.5 }, 0]] }),
      /updates\[0\]\[0\]\.rc: expected an integer/,
    );
  });
});

describe('commands wire: queries', () => {
  it('reads limit as a number and refuses unknown query parameters', () => {
    assert.deepEqual(parseListCommandsQuery({ worker: 'w1', limit: '5', status: 'running' }), {
      worker: 'w1',
      limit: 5,
      status: 'running',
    });
    assert.throws(
      () => parseListCommandsQuery({ worker: 'w1', limit: 'ten' }),
      /limit: expected a number, got string/,
    );
    assert.throws(
      () => parseListCommandsQuery({ worker: 'w1', limit: '101' }),
      /limit: expected a number <=100/,
    );
    assert.throws(() => parseListCommandsQuery({ worker: 'w1', sort: 'x' }), /sort: unknown query parameter/);
    assert.throws(() => parseListCommandsQuery({}), /worker: required/);
  });

  it('reads after as -1 by default and refuses a seq below -1', () => {
    assert.equal(parseAfterQuery({}), -1);
    assert.equal(parseAfterQuery({ after: '7', other: 'ignored' }), 7);
    assert.throws(() => parseAfterQuery({ after: '-2' }), ValidationError);
  });
});

describe('queue messages, validated with the same schemas', () => {
  it('reads a worker command message and an interrupt, dropping fields it does not know', () => {
    const command = {
      type: 'command',
      commandId: ID,
      command: 'shell',
      args: { a: 1 },
      heartbeatTimeout: 60,
      extra: 1,
    };
    const { extra: _extra, ...known } = command;
    assert.deepEqual(parseWorkerMessage(JSON.stringify(command)), known);
    assert.deepEqual(parseWorkerMessage(JSON.stringify({ type: 'interrupt', commandId: ID })), {
      type: 'interrupt',
      commandId: ID,
      why: '',
    });
  });

  it('returns undefined for anything that is not a worker message', () => {
    for (const body of [
      'garbage',
      undefined,
      'null',
      '[]',
      JSON.stringify({ type: 'command', commandId: '', command: 'shell', args: {}, heartbeatTimeout: 60 }),
      JSON.stringify({ type: 'command', commandId: ID, command: 'shell', args: [], heartbeatTimeout: 60 }),
      JSON.stringify({ type: 'command', commandId: ID, command: 'shell', args: {} }),
      JSON.stringify({ type: 'other', commandId: ID }),
    ])
      assert.equal(parseWorkerMessage(body), undefined, String(body));
  });

  it('reads a completion event whole, and refuses one missing its fields', () => {
    const event = successEvent({ commandId: ID, worker: 'w1', completedAt: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual(parseCompletionEvent(JSON.stringify(event)), event);
    assert.equal(parseCompletionEvent(JSON.stringify({ ...event, results: 9 })), undefined);
    assert.equal(parseCompletionEvent(JSON.stringify({ commandId: ID, worker: 'w1' })), undefined);
    assert.equal(parseCompletionEvent('{'), undefined);
  });
});
