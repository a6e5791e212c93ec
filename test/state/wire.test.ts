import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../shared/errors.ts';
import { objectIdRequest, parseObjectIdParam, setStateRequest } from '../../shared/state/wire.ts';

describe('state wire', () => {
  it('accepts any JSON value, null included, and refuses a missing one', () => {
    assert.deepEqual(setStateRequest.parse({ value: null }), { value: null });
    assert.deepEqual(setStateRequest.parse({ value: [1] }), { value: [1] });
    assert.throws(() => setStateRequest.parse({}), /value: required/);
  });

  it('refuses unknown fields and wrong types', () => {
    assert.throws(() => setStateRequest.parse({ value: 1, extra: 2 }), /extra: unknown field/);
    assert.throws(() => objectIdRequest.parse({ name: 1, className: 'C' }), ValidationError);
    assert.throws(() => objectIdRequest.parse({ name: 'n' }), ValidationError);
  });

  it('takes objectId path parameters that are positive integers only', () => {
    assert.equal(parseObjectIdParam('42'), 42);
    for (const bad of ['0', '-1', '1.5', '01', 'abc', '', '99999999999999999', undefined])
      assert.throws(() => parseObjectIdParam(bad), ValidationError, String(bad));
  });
});
