import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandStartError, PathEscapeError } from '../../../worker/errors.ts';
import { realPathInside, resolveInside } from '../../../worker/paths.ts';

const FOLLOW = { followLast: true } as const;

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

describe('realPathInside', () => {
  let base: string;
  let outside: string;

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'bbs-paths-'));
    outside = await mkdtemp(path.join(tmpdir(), 'bbs-paths-out-'));
    await mkdir(path.join(base, 'real', 'deep'), { recursive: true });
    await symlink('real', path.join(base, 'in'));
    await symlink(outside, path.join(base, 'out'));
    await symlink('../..', path.join(base, 'real', 'up'));
    await symlink('loop', path.join(base, 'loop'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('resolves links that stay inside, and missing components after the deepest existing one', async () => {
    const real = await realpath(base);
    assert.equal(await realPathInside(base, 'p', 'in/deep', FOLLOW), path.join(real, 'real', 'deep'));
    assert.equal(await realPathInside(base, 'p', 'in/new/x', FOLLOW), path.join(real, 'real', 'new', 'x'));
  });

  it('refuses a link that leads out, in any component', async () => {
    await assert.rejects(realPathInside(base, 'p', 'out', FOLLOW), PathEscapeError);
    await assert.rejects(realPathInside(base, 'p', 'out/new/x', FOLLOW), /leads through a symlink to /);
    await assert.rejects(realPathInside(base, 'p', 'real/up/x', FOLLOW), PathEscapeError);
  });

  it('leaves the last component alone for commands that act on a link itself', async () => {
    const real = await realpath(base);
    assert.equal(await realPathInside(base, 'p', 'out', { followLast: false }), path.join(real, 'out'));
    await assert.rejects(realPathInside(base, 'p', 'out/x', { followLast: false }), PathEscapeError);
  });

  it('refuses a symlink loop as a start error', async () => {
    await assert.rejects(realPathInside(base, 'p', 'loop/x', FOLLOW), CommandStartError);
  });
});
