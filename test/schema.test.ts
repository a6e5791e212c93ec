import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { ValidationError } from '../shared/errors.ts';
import { fields, integer, keyed, number, parse, parseMessage, text } from '../shared/schema.ts';

/** The error parse() throws for `value`, for its message and details. */
function refusal(schema: v.GenericSchema, value: unknown, path?: string): ValidationError {
  try {
    parse(schema, value, path);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  assert.fail(`expected ${JSON.stringify(value)} to be refused`);
}

const shape = fields({
  name: text({ minLength: 1, maxLength: 4 }),
  count: v.optional(integer(0, 10)),
  nested: v.optional(fields({ flag: v.boolean() })),
});

describe('fields: strict objects', () => {
  it('refuses constructor, __proto__ and other prototype names as unknown fields (own keys only)', () => {
    // Prepare: JSON.parse makes __proto__ an own key, as a request body would
    const bodies = [
      JSON.parse('{"name":"a","__proto__":{"polluted":true}}'),
      JSON.parse('{"name":"a","constructor":{"prototype":{"polluted":true}}}'),
      { name: 'a', toString: 'x' },
      { name: 'a', hasOwnProperty: 1 },
    ];
    // Act
    const messages = bodies.map((body) => refusal(shape, body).message);
    // Assess
    assert.deepEqual(messages, [
      '__proto__: unknown field (expected name, count, nested)',
      'constructor: unknown field (expected name, count, nested)',
      'toString: unknown field (expected name, count, nested)',
      'hasOwnProperty: unknown field (expected name, count, nested)',
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('outputs exactly the validated shape: a new plain object with only the fields sent', () => {
    // Prepare
    const input = { name: 'ab', nested: { flag: true } };
    // Act
    const output = parse(shape, input);
    // Assess
    assert.notEqual(output, input);
    assert.deepEqual(Object.getOwnPropertyNames(output), ['name', 'nested']);
    assert.equal(Object.getPrototypeOf(output), Object.prototype);
    assert.deepEqual(output, input);
  });

  it('names the path and what was expected', () => {
    const cases: [unknown, string][] = [
      [{}, 'name: required'],
      [{ name: 5 }, 'name: expected a string, got number'],
      [{ name: 'abcde' }, 'name: longer than 4 characters'],
      [{ name: '' }, 'name: expected at least 1 characters, got 0'],
      [{ name: 'a', count: 11 }, 'count: expected a number <=10, got 11'],
      [{ name: 'a', count: 1.5 }, 'count: expected an integer, got 1.5'],
      [{ name: 'a', nested: { flag: 'yes' } }, 'nested.flag: expected a boolean, got string'],
      [{ name: 'a', nested: { flag: true, more: 1 } }, 'nested.more: unknown field (expected flag)'],
      [[], 'body: expected an object, got an array'],
      [null, 'body: expected an object, got null'],
    ];
    for (const [value, message] of cases) assert.equal(refusal(shape, value).message, message);
  });

  it('carries the path and the broken limit as details, and prefixes a parameter name', () => {
    assert.deepEqual(refusal(shape, { name: 'abcde' }).details, { path: 'name', limit: 4 });
    assert.deepEqual(refusal(shape, { name: 1 }).details, { path: 'name' });
    assert.equal(refusal(integer(1, 100), 0, 'limit').message, 'limit: expected a number >=1, got 0');
  });
});

describe('keyed: free-form keys', () => {
  const args = keyed(v.unknown());

  it('refuses arrays and prototype keys, and caps the number of keys', () => {
    assert.equal(refusal(args, []).message, 'body: expected an object, got an array');
    assert.match(refusal(args, JSON.parse('{"__proto__":1}')).message, /without the keys __proto__/);
    assert.match(refusal(args, { constructor: 1 }).message, /without the keys __proto__, constructor/);
    assert.equal(refusal(keyed(integer(), { maxKeys: 1 }), { a: 1, b: 2 }).message, 'body: more than 1 keys');
    assert.deepEqual(parse(args, { command: ['make'] }), { command: ['make'] });
  });

  it('names the key of a bad value', () => {
    assert.equal(refusal(keyed(integer(0, 6)), { '0': 7 }).message, '0: expected a number <=6, got 7');
  });
});

describe('arrays, tuples and numbers', () => {
  it('keeps maxItems and ranges, with the item path', () => {
    const list = v.pipe(v.array(v.strictTuple([text(), integer(0)])), v.maxLength(2));
    assert.equal(
      refusal(list, [
        ['a', 0],
        ['b', 1],
        ['c', 2],
      ]).message,
      'body: more than 2 items',
    );
    assert.equal(refusal(list, [['a', -1]]).message, '[0][1]: expected a number >=0, got -1');
    assert.equal(refusal(list, [['a', 0, 'extra']]).message, '[0][2]: unexpected item');
    assert.equal(refusal(number(0), -0.5).message, 'body: expected a number >=0, got -0.5');
    assert.equal(
      refusal(text({ pattern: /^a+$/ }), 'b').message,
      'body: expected a string matching /^a+$/, got "b"',
    );
  });

  it('quotes a refused value to 40 characters, and never one under secrets', () => {
    const named = v.object({
      name: text({ pattern: /^a+$/ }),
      secrets: v.record(v.string(), text({ pattern: /^a+$/ })),
    });
    assert.equal(
      refusal(named, { name: 'b'.repeat(60), secrets: {} }).message,
      `name: expected a string matching /^a+$/, got "${'b'.repeat(39)}…`,
    );
    assert.equal(
      refusal(named, { name: 'a', secrets: { KEY: 'hunter2' } }).message,
      'secrets.KEY: expected a string matching /^a+$/',
    );
  });
});

describe('parseMessage: queue message bodies', () => {
  it('returns undefined for text that is not JSON or does not match', () => {
    assert.equal(parseMessage(shape, 'not json'), undefined);
    assert.equal(parseMessage(shape, undefined), undefined);
    assert.equal(parseMessage(shape, '{"name":7}'), undefined);
    assert.deepEqual(parseMessage(shape, '{"name":"ok"}'), { name: 'ok' });
  });
});
