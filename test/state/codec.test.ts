import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as LIMITS from '../../shared/limits.ts';
import { decodeValue, encodeValue } from '../../shared/state/codec.ts';
import { StateEncodingError, StateValueTooLargeError } from '../../shared/state/errors.ts';

function cyclic(): unknown {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
}

describe('state value codec', () => {
  it('encodes JSON values as JSON text', () => {
    // Act + Assess
    assert.equal(encodeValue({ a: [1, 'x', null, true] }), '{"a":[1,"x",null,true]}');
    assert.equal(encodeValue(null), 'null');
    assert.equal(encodeValue(1.5e300), '1.5e+300');
  });

  it('leaves out object properties whose value is undefined, as JSON does', () => {
    assert.equal(encodeValue({ a: 1, b: undefined }), '{"a":1}');
  });

  const refused: Array<[string, () => unknown]> = [
    ['a function', () => () => 1],
    ['a function inside an object', () => ({ f: () => 1 })],
    ['a symbol', () => Symbol('s')],
    ['a BigInt', () => 10n],
    ['a BigInt inside an array', () => [1n]],
    ['a cycle', cyclic],
    ['undefined', () => undefined],
    ['undefined inside an array', () => [undefined]],
    ['NaN', () => ({ n: NaN })],
    ['Infinity', () => [Infinity]],
    ['a Map', () => ({ m: new Map([[1, 2]]) })],
    ['a Set', () => new Set([1])],
  ];
  for (const [what, make] of refused) {
    it(`refuses ${what} with StateEncodingError (400)`, () => {
      assert.throws(
        () => encodeValue(make()),
        (error: unknown) => error instanceof StateEncodingError && error.statusCode === 400,
      );
    });
  }

  it('refuses a value whose JSON is over the limit with StateValueTooLargeError (413)', () => {
    // Prepare
    const atLimit = 'x'.repeat(LIMITS.stateValueBytes - 2);
    // Act + Assess
    assert.equal(encodeValue(atLimit).length, LIMITS.stateValueBytes);
    assert.throws(
      () => encodeValue(atLimit + 'x'),
      (error: unknown) => error instanceof StateValueTooLargeError && error.statusCode === 413,
    );
  });

  it('counts the limit in UTF-8 bytes', () => {
    assert.throws(() => encodeValue('é'.repeat(LIMITS.stateValueBytes / 2)), StateValueTooLargeError);
  });

  it('decodes JSON text and refuses text that is not JSON with StateEncodingError', () => {
    assert.deepEqual(decodeValue('{"a":1}', 1, 'n'), { a: 1 });
    assert.throws(() => decodeValue('not json{', 1, 'n'), StateEncodingError);
    assert.throws(() => decodeValue(12, 1, 'n'), StateEncodingError);
  });
});
