import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateNameTooLongError } from '../../shared/state/errors.ts';
import * as LIMITS from '../../shared/limits.ts';
import { ensureLength, objectKey, stateKey, truncateUtf8 } from '../../shared/state/keys.ts';

describe('state keys', () => {
  it('keeps names within the limit unchanged', () => {
    // Prepare
    const name = 'n'.repeat(LIMITS.objectNameBytes);
    // Act
    const key = objectKey(name, 'GitPoller');
    // Assess
    assert.equal(key.pk, `OBJKEY#GitPoller#${name}`);
    assert.equal(key.sk, 'OBJKEY');
  });

  it('shortens a long name to half its limit plus a SHA-1, as Buildbot ensureLength does', () => {
    // Prepare
    const long = 'a'.repeat(3000);
    const other = 'a'.repeat(2999) + 'b';
    // Act
    const shortened = ensureLength(long, 100);
    // Assess
    assert.equal(shortened.length, 50 + 40);
    assert.ok(shortened.startsWith('a'.repeat(50)));
    assert.notEqual(ensureLength(other, 100), shortened);
    assert.equal(ensureLength(long, 100), shortened);
  });

  it('keeps every key within DynamoDB key limits for the longest accepted names', () => {
    // Prepare
    const name = '😀'.repeat(5000);
    const className = '#'.repeat(LIMITS.classNameBytes / 3);
    // Act
    const object = objectKey(name, className);
    const state = stateKey(Number.MAX_SAFE_INTEGER, name);
    // Assess
    assert.ok(Buffer.byteLength(object.pk) <= 2048);
    assert.ok(Buffer.byteLength(state.sk) <= 1024);
    assert.ok(Buffer.byteLength(state.pk) <= 2048);
  });

  it('truncates on a code point boundary', () => {
    // Act
    const cut = truncateUtf8('a😀b', 3);
    // Assess
    assert.equal(cut, 'a');
  });

  it('keeps ("a#b", "c") and ("a", "b#c") apart', () => {
    // Act
    const first = objectKey('c', 'a#b');
    const second = objectKey('b#c', 'a');
    // Assess
    assert.notEqual(first.pk, second.pk);
  });

  it('refuses a className over its limit with StateNameTooLongError (400)', () => {
    // Act + Assess
    assert.throws(
      () => objectKey('n', 'C'.repeat(LIMITS.classNameBytes + 1)),
      (error: unknown) => error instanceof StateNameTooLongError && error.statusCode === 400,
    );
  });
});
