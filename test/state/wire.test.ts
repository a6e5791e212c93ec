import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../shared/errors.ts';
import { parse } from '../../shared/schema.ts';
import { objectIdRequest, parseObjectIdParam, setStateRequest } from '../../shared/state/wire.ts';

describe('state wire', () => {
  it('accepts any JSON value, null included, and refuses a missing one', () => {
    assert.deepEqual(parse(setStateRequest, { value: null }), { value: null });
    assert.deepEqual(parse(setStateRequest, { value: [1] }), { value: [1] });
    assert.throws(() => parse(setStateRequest, {}), /value: required/);
  });

  it('refuses unknown fields and wrong types', () => {
    assert.throws(() => parse(setStateRequest, { value: 1, extra: 2 }), /extra: unknown field/);
    assert.throws(() => parse(objectIdRequest, { name: 1, className: 'C' }), ValidationError);
    assert.throws(() => parse(objectIdRequest, { name: 'n' }), ValidationError);
  });

  it('takes objectId path parameters that are positive integers only', () => {
    assert.equal(parseObjectIdParam('42'), 42);
    for (const bad of ['0', '-1', '1.5', '01', 'abc', '', '99999999999999999', undefined])
      assert.throws(() => parseObjectIdParam(bad), ValidationError, String(bad));
  });
});
