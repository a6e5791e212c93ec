import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PathEscapeError } from '../../../worker/errors.ts';
import { resolveInside } from '../../../worker/paths.ts';

describe('resolveInside', () => {
  it('resolves relative paths from the base directory', () => {
    assert.equal(resolveInside('/base', 'workdir', 'build/x'), '/base/build/x');
    assert.equal(resolveInside('/base', 'workdir', 'a/../b'), '/base/b');
    assert.equal(resolveInside('/base', 'workdir', '.'), '/base');
  });

  it('accepts an absolute path only when it lies inside the base directory', () => {
    assert.equal(resolveInside('/base', 'path', '/base/x'), '/base/x');
    assert.throws(() => resolveInside('/base', 'path', '/etc/passwd'), PathEscapeError);
    assert.throws(() => resolveInside('/base', 'path', '/base-other/x'), PathEscapeError);
  });

  it('refuses .. escapes and names the argument', () => {
    assert.throws(
      () => resolveInside('/base', 'workdir', '../x'),
      /workdir '\.\.\/x' is outside the worker's base directory/,
    );
    assert.throws(() => resolveInside('/base', 'workdir', 'a/../../x'), PathEscapeError);
    assert.throws(() => resolveInside('/base', 'workdir', '..'), PathEscapeError);
  });

  it('keeps names that merely start with two dots', () => {
    assert.equal(resolveInside('/base', 'workdir', '..hidden'), '/base/..hidden');
  });
});
