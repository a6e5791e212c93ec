// The worker commands with the arguments Buildbot's master sends, and shell's timeout, kill sequence and PTY as runprocess.py's.
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import type { CommandView } from '../../shared/commands/wire.ts';
import { expandUser } from '../../worker/commands/fsArgs.ts';
import { apiCaller, readLog, readUpdates, startCommand, waitForCommand } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import { alive, oneWorkerFixture } from './helpers.ts';

const t = oneWorkerFixture('parity', ['--concurrency', '4']);

async function ran(
  command: string,
  args: Record<string, unknown>,
): Promise<{ view: CommandView; updates: Record<string, unknown>[]; log: string }> {
  const id = await startCommand(t.stack, t.worker.name, command, args);
  const view = await waitForCommand(t.stack, id, undefined, 30_000);
  const updates = (await readUpdates(t.stack, id)).map(([update]) => update);
  return { view, updates, log: await readLog(t.stack, id) };
}

function inBase(...parts: string[]): string {
  return path.join(t.proc.basedir, ...parts);
}

describe('file commands with the arguments of Buildbot’s master steps', () => {
  it('make, list, stat, copy and remove with dir, file/workdir and fromdir/todir', async () => {
    // Act / Assess, as MakeDirectory, FileExists, CopyDirectory and RemoveDirectory send them
    assert.equal((await ran('mkdir', { dir: 'm/one' })).view.rc, 0);
    assert.equal((await ran('mkdir', { dir: ['m/two', 'm/three'] })).view.rc, 0);
    await writeFile(inBase('m/one/f.txt'), 'abc');
    const listed = await ran('listdir', { dir: 'm' });
    assert.deepEqual([...(listed.updates.find((u) => u.files)?.files as string[])].sort(), [
      'one',
      'three',
      'two',
    ]);
    const stat = await ran('stat', { file: 'f.txt', workdir: 'm/one' });
    assert.equal((stat.updates.find((u) => u.stat)?.stat as number[])[6], 3);
    assert.equal((await ran('cpdir', { from_path: 'm/one', to_path: 'm/copy' })).view.rc, 0);
    assert.equal(await readFile(inBase('m/copy/f.txt'), 'utf8'), 'abc');
    assert.equal((await ran('rmdir', { dir: 'm' })).view.rc, 0);
    assert.deepEqual(await readdir(t.proc.basedir).then((names) => names.includes('m')), false);
  });

  it('refuses both spellings at once, and names both when neither is given', async () => {
    // Act
    const both = await ran('mkdir', { dir: 'x', paths: ['y'] });
    const neither = await ran('cpdir', { to_path: 'x' });

    // Assess
    assert.equal(both.view.failure?.kind, 'start_error');
    assert.match(both.view.failure?.message ?? '', /MakeDirectory: give one of paths, dir, not both/);
    assert.match(neither.view.failure?.message ?? '', /CopyDirectory is missing args: from_path or fromdir/);
  });

  it('nests cpdir into an existing directory and streams cp -v with runprocess headers, as Buildbot', async () => {
    // Prepare
    await mkdir(inBase('n/src/sub'), { recursive: true });
    await mkdir(inBase('n/dest'), { recursive: true });
    await writeFile(inBase('n/src/sub/a.txt'), 'a');

    // Act
    const copied = await ran('cpdir', { fromdir: 'n/src', todir: 'n/dest', logEnviron: false });

    // Assess
    assert.equal(copied.view.rc, 0);
    assert.equal(
      await readFile(inBase('n/dest/src/sub/a.txt'), 'utf8'),
      'a',
      'copied into dest, as cp -R does',
    );
    assert.match(copied.log, /^cp -R -P -p -v \S+\/n\/src \S+\/n\/dest\n in dir \S+ \(timeout 120 secs\)\n/);
    assert.match(copied.log, /-> '.*\/n\/dest\/src\/sub\/a\.txt'\n/);
    assert.doesNotMatch(copied.log, /environment:/, 'logEnviron: false');
    assert.match(copied.log, /program finished with exit code 0\n/);
  });

  it('reports rmdir and cpdir failures as their programs do, with the rc they end with', async () => {
    // Act
    const missing = await ran('cpdir', { fromdir: 'no/such', todir: 'n2' });

    // Assess
    assert.equal(missing.view.rc, 1);
    assert.match(missing.log, /cp: cannot stat '.*no\/such': No such file or directory/);
  });

  it('expands ~ to the agent’s home, which is still confined to the base directory', async () => {
    // Act
    const outside = await ran('mkdir', { dir: '~/bbs-parity-never' });

    // Assess
    assert.equal(expandUser('~/x'), path.join(homedir(), 'x'));
    assert.equal(expandUser('~other/x'), '~other/x');
    assert.equal(outside.view.failure?.kind, 'start_error');
    assert.match(outside.view.failure?.message ?? '', /dir/);
  });
});

describe('shell as runprocess.py', () => {
  it('kills with SIGTERM first and interruptSignal after sigtermTime, even when that signal is KILL', async () => {
    // Prepare: a process that notes SIGTERM and carries on.
    const id = await startCommand(t.stack, t.worker.name, 'shell', {
      command: "trap 'echo got TERM' TERM; echo ready; while :; do sleep 0.1; done",
      workdir: '.',
      sigtermTime: 1,
      interruptSignal: 'KILL',
    });
    await waitFor('the trap to be set', async () => (await readLog(t.stack, id)).includes('ready'), 15_000);

    // Act
    const asked = Date.now();
    await apiCaller(t.stack)(t.stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, { why: 'test' });
    const view = await waitForCommand(t.stack, id, undefined, 15_000);

    // Assess
    const log = await readLog(t.stack, id);
    assert.equal(view.results, RESULTS.CANCELLED);
    assert.match(log, /got TERM/, 'the grace period was given');
    assert.match(log, /process killed by signal 9\n/);
    assert.ok(Date.now() - asked >= 1_000, 'KILL came after sigtermTime');
  });

  it('gives up on a process that will not die 5 s after the last signal, with a fake rc of -1', async () => {
    // Prepare: interruptSignal TERM, which the process ignores.
    const id = await startCommand(t.stack, t.worker.name, 'shell', {
      command: "trap '' TERM; echo $$ > stubborn.pid; echo ready; while :; do sleep 0.1; done",
      workdir: '.',
      interruptSignal: 'TERM',
    });
    await waitFor('the process to start', async () => (await readLog(t.stack, id)).includes('ready'), 15_000);
    const pid = Number(await readFile(inBase('stubborn.pid'), 'utf8'));

    // Act
    await apiCaller(t.stack)(t.stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, { why: 'test' });
    const view = await waitForCommand(t.stack, id, undefined, 20_000);

    // Assess
    const log = await readLog(t.stack, id);
    assert.equal(view.rc, -1);
    assert.match(log, /SIGTERM failed to kill process\nusing fake rc=-1\n/);
    await waitFor('the stubborn process to be gone', () => !alive(pid), 5_000);
  });

  it('runs usePTY commands on a real pseudo-terminal', async () => {
    // Act
    const { view, log } = await ran('shell', {
      command: 'tty; stty size >/dev/null && echo stty-ok; echo err >&2',
      workdir: '.',
      usePTY: true,
    });

    // Assess
    assert.equal(view.rc, 0);
    assert.match(log, / using PTY: True\n/);
    assert.match(log, /\/dev\/pts\/\d+\r\n/);
    assert.match(log, /stty-ok\r\n/);
    assert.match(log, /err\r\n/, 'stderr joins stdout on the terminal');
  });

  it('has no terminal without usePTY, and says so', async () => {
    const { log } = await ran('shell', { command: 'tty || true', workdir: '.' });
    assert.match(log, / using PTY: False\n/);
    assert.match(log, /not a tty/);
  });
});
