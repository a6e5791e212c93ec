import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requireArgs, stringListArg } from '../../../worker/commands/args.ts';
import { parseShellArgs } from '../../../worker/commands/shell.ts';
import { CommandStartError } from '../../../worker/errors.ts';

describe('argument checks', () => {
  it('lists every missing arg in Buildbot words', () => {
    assert.throws(() => requireArgs('WorkerShellCommand', {}, ['workdir', 'command']), {
      message: 'WorkerShellCommand is missing args: workdir, command',
    });
  });

  it('treats null as missing', () => {
    assert.throws(() => requireArgs('StatFile', { path: null }, ['path']), CommandStartError);
  });

  it('refuses a wrong type with what it expected', () => {
    assert.throws(() => stringListArg('MakeDirectory', { paths: 'a' }, 'paths'), {
      message: "MakeDirectory: 'paths' must be a list of strings, got string",
    });
  });

  it('parses shell args with Buildbot defaults', () => {
    const opts = parseShellArgs({ command: ['make', 'all'], workdir: 'build' }, '/base', { PATH: '/bin' });
    assert.equal(opts.workdir, '/base/build');
    assert.deepEqual(opts.argv.real, ['make', 'all']);
    assert.equal(opts.wantStdout, true);
    assert.equal(opts.timeout, 1200, "Buildbot's ShellCommand default");
    assert.equal(opts.env.PWD, '/base/build');
  });

  it('takes null or 0 as no timeout, as Buildbot takes None', () => {
    for (const timeout of [null, 0])
      assert.equal(parseShellArgs({ command: 'x', workdir: '.', timeout }, '/b', {}).timeout, undefined);
    assert.equal(parseShellArgs({ command: 'x', workdir: '.', timeout: 5 }, '/b', {}).timeout, 5);
  });

  it('refuses an unknown interruptSignal and a negative timeout', () => {
    assert.throws(
      () => parseShellArgs({ command: 'x', workdir: '.', interruptSignal: 'NOPE' }, '/b', {}),
      /not a signal name/,
    );
    assert.throws(
      () => parseShellArgs({ command: 'x', workdir: '.', timeout: -1 }, '/b', {}),
      /'timeout' must be a number/,
    );
  });

  it('refuses a logfile outside the base directory', () => {
    assert.throws(
      () => parseShellArgs({ command: 'x', workdir: '.', logfiles: { l: '../../etc/x' } }, '/b', {}),
      /outside/,
    );
  });
});
