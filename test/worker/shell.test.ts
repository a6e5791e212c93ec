import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { readLog, readUpdates, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { alive, spawnWorker, stopWorker } from './helpers.ts';
import type { WorkerProcess } from './helpers.ts';

/** The shell and file-system commands, run by a real worker process against the real local stack. */
let stack: TestStack;
let worker: RegisteredWorker;
let proc: WorkerProcess;

before(async () => {
  stack = await useStack();
  worker = await registerWorker(stack, 'shell');
  proc = await spawnWorker(stack, worker, ['--concurrency', '4']);
});

after(async () => {
  if (proc) await stopWorker(proc);
  await stack?.release();
});

function run(
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  command = 'shell',
): Promise<string> {
  return startCommand(stack, worker.name, command, args, extra);
}

async function pidOf(file: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(path.join(proc.basedir, file), 'utf8').catch(() => '');
    if (text.trim() !== '') return Number(text.trim());
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await sleep(50);
  }
}

describe('shell', () => {
  it('sends headers, stdout, stderr, rc and elapsed in order and completes with the rc decoded', async () => {
    // Prepare
    const id = await run(
      { command: 'echo hello; echo oops >&2; exit 3', workdir: 'build' },
      { decodeRC: { 0: 0, 3: 1 } },
    );

    // Act
    const view = await waitForCommand(stack, id);
    const updates = (await readUpdates(stack, id)).map(([update]) => update);

    // Assess
    assert.equal(view.rc, 3);
    assert.equal(view.results, RESULTS.WARNINGS);
    assert.equal(view.failure, undefined);
    const keys = updates.map((update) => Object.keys(update)[0]);
    assert.equal(keys[0], 'header');
    assert.deepEqual(keys.slice(-2), ['rc', 'elapsed']);
    assert.ok(keys.indexOf('stdout') < keys.indexOf('stderr'));
    const seqs = (await readUpdates(stack, id)).map(([, seq]) => seq);
    assert.deepEqual(seqs, [...seqs.keys()]);
    const stdio = await readLog(stack, id);
    assert.match(stdio, /^echo hello; echo oops >&2; exit 3\n in dir .*\/build \(timeout 1200 secs\)\n/);
    assert.match(stdio, /hello\noops\nprogram finished with exit code 3\nelapsedTime=\d+\.\d{6}\n$/);
  });

  it('maps an rc missing from decodeRC to FAILURE', async () => {
    // Act
    const view = await waitForCommand(
      stack,
      await run({ command: ['sh', '-c', 'exit 4'], workdir: '.' }, { decodeRC: { 0: 0, 3: 1 } }),
    );

    // Assess
    assert.equal(view.rc, 4);
    assert.equal(view.results, RESULTS.FAILURE);
  });

  it('delivers 5 MB of multi-byte output byte-exact', async () => {
    // Prepare: lines mixing ASCII, 2-, 3- and 4-byte UTF-8, so chunk edges cut characters.
    const line = 'abcdefghij é ü € 漢字 😀 0123456789\n';
    const text = line.repeat(Math.ceil((5 * 1024 * 1024) / Buffer.byteLength(line)));
    await writeFile(path.join(proc.basedir, 'big.txt'), text);
    const expected = createHash('sha256').update(text).digest('hex');

    // Act
    const id = await run({ command: ['cat', '../big.txt'], workdir: 'big', logEnviron: false });
    const view = await waitForCommand(stack, id, undefined, 60_000);
    const stdout = (await readUpdates(stack, id))
      .map(([update]) => (typeof update.stdout === 'string' ? update.stdout : ''))
      .join('');

    // Assess
    assert.equal(view.rc, 0);
    assert.equal(Buffer.byteLength(stdout), Buffer.byteLength(text));
    assert.equal(createHash('sha256').update(stdout).digest('hex'), expected);
  });

  it('keeps the order of interleaved stdout and stderr in the stdio log', async () => {
    // Act
    const id = await run({
      command: 'for i in 1 2 3 4; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done',
      workdir: '.',
      logEnviron: false,
    });
    await waitForCommand(stack, id);

    // Assess
    assert.match(await readLog(stack, id), /out1\nerr1\nout2\nerr2\nout3\nerr3\nout4\nerr4\n/);
  });

  it('feeds initial_stdin, applies env (null unsets, lists join) and hides unwanted stdout', async () => {
    // Act
    const id = await run({
      command: 'cat; echo "[$FOO] [${HOME:-unset}]"; echo to-stderr >&2',
      workdir: '.',
      initial_stdin: 'from stdin\n',
      env: { FOO: ['a', 'b'], HOME: null },
      logEnviron: false,
    });
    await waitForCommand(stack, id);
    const updates = (await readUpdates(stack, id)).map(([update]) => update);

    // Assess
    const stdout = updates.map((u) => u.stdout ?? '').join('');
    assert.equal(stdout, 'from stdin\n[a:b] [unset]\n');
    const quiet = await run({
      command: 'echo visible-not; echo shown >&2',
      workdir: '.',
      want_stdout: false,
      logEnviron: false,
    });
    await waitForCommand(stack, quiet);
    const quietUpdates = (await readUpdates(stack, quiet)).map(([u]) => u);
    assert.equal(quietUpdates.filter((u) => u.stdout !== undefined).length, 0);
    assert.ok(quietUpdates.some((u) => u.stderr === 'shown\n'));
  });

  it('tails a logfile into {log: [name, text]} updates', async () => {
    // Act
    const id = await run({
      command: 'echo line1 > out.log; sleep 1.2; echo line2 >> out.log',
      workdir: 'logs',
      logfiles: { build: 'out.log' },
      logEnviron: false,
    });
    await waitForCommand(stack, id);

    // Assess
    assert.equal(await readLog(stack, id, 'build'), 'line1\nline2\n');
  });

  it('kills the process group after `timeout` seconds without output (timeout_without_output)', async () => {
    // Act
    const started = Date.now();
    const id = await run({
      command: 'echo $$ > t1.pid; sleep 30 & wait',
      workdir: '.',
      timeout: 1,
      logEnviron: false,
    });
    const pid = await pidOf('t1.pid');
    const view = await waitForCommand(stack, id);

    // Assess
    assert.ok(Date.now() - started < 6_000);
    assert.equal(view.failure_reason, 'timeout_without_output');
    assert.equal(view.rc, -1);
    assert.equal(alive(pid), false);
    assert.match(
      await readLog(stack, id),
      /command timed out: 1 seconds without output running .*, attempting to kill\n/,
    );
  });

  it('kills a command that runs longer than maxTime (timeout)', async () => {
    // Act
    const id = await run({
      command: 'echo $$ > t2.pid; while true; do echo tick; sleep 0.2; done',
      workdir: '.',
      maxTime: 1,
      logEnviron: false,
    });
    const pid = await pidOf('t2.pid');
    const view = await waitForCommand(stack, id);

    // Assess
    assert.equal(view.failure_reason, 'timeout');
    assert.equal(alive(pid), false);
  });

  it('kills a command that writes more than max_lines lines (max_lines_failure)', async () => {
    // Act
    const id = await run({
      command: 'echo $$ > t3.pid; while true; do echo line; done',
      workdir: '.',
      max_lines: 10,
      logEnviron: false,
    });
    const pid = await pidOf('t3.pid');
    const view = await waitForCommand(stack, id);

    // Assess
    assert.equal(view.failure_reason, 'max_lines_failure');
    assert.equal(alive(pid), false);
    assert.match(await readLog(stack, id), /command exceeds max lines: \d+\/10 written\/allowed/);
  });
});

describe('start errors', () => {
  it('completes with start_error when the executable does not exist', async () => {
    // Act
    const view = await waitForCommand(stack, await run({ command: ['no-such-program-bbs'], workdir: '.' }));

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
    assert.match(view.failure?.message ?? '', /No such file or directory: 'no-such-program-bbs'/);
    assert.equal(view.results, RESULTS.EXCEPTION);
  });

  it('completes with start_error naming the missing args', async () => {
    // Act
    const view = await waitForCommand(stack, await run({ command: 'true' }));

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
    assert.equal(view.failure?.message, 'WorkerShellCommand is missing args: workdir');
  });

  it('refuses a workdir that escapes the base directory with ..', async () => {
    // Act
    const view = await waitForCommand(stack, await run({ command: 'touch escaped', workdir: '../outside' }));

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
    assert.match(
      view.failure?.message ?? '',
      /workdir '\.\.\/outside' is outside the worker's base directory/,
    );
  });

  it('refuses a logfile named after one of the logs of its own output', async () => {
    // Act
    const view = await waitForCommand(
      stack,
      await run({ command: 'true', workdir: '.', logfiles: { stdout: 'out.log' } }),
    );

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
    assert.match(
      view.failure?.message ?? '',
      /logfiles\['stdout'\]: stdio, stdout, stderr are the command's own output/,
    );
  });

  it('refuses an absolute path outside the base directory', async () => {
    // Act
    const view = await waitForCommand(stack, await run({ path: '/etc/passwd' }, {}, 'stat'));

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
  });
});

describe('file-system commands', () => {
  async function rcOf(
    command: string,
    args: Record<string, unknown>,
  ): Promise<{ rc?: number; updates: Record<string, unknown>[] }> {
    const id = await run(args, {}, command);
    const view = await waitForCommand(stack, id);
    return { rc: view.rc, updates: (await readUpdates(stack, id)).map(([u]) => u) };
  }

  it('makes, lists, stats, globs, copies and removes inside the base directory', async () => {
    // Act & Assess, step by step as a build would
    assert.equal((await rcOf('mkdir', { paths: ['fs/a/b', 'fs/c'] })).rc, 0);
    await writeFile(path.join(proc.basedir, 'fs/a/b/x.txt'), 'hello');
    const listed = await rcOf('listdir', { path: 'fs' });
    assert.deepEqual([...(listed.updates.find((u) => u.files)?.files as string[])].sort(), ['a', 'c']);
    const stat = await rcOf('stat', { path: 'fs/a/b/x.txt' });
    assert.equal((stat.updates.find((u) => u.stat)?.stat as number[])[6], 5);
    const globbed = await rcOf('glob', { path: 'fs/**/*.txt' });
    assert.deepEqual(globbed.updates.find((u) => u.files)?.files, ['fs/a/b/x.txt']);
    assert.equal((await rcOf('cpdir', { fromdir: 'fs/a', todir: 'fs/copy' })).rc, 0);
    assert.equal(await readFile(path.join(proc.basedir, 'fs/copy/b/x.txt'), 'utf8'), 'hello');
    assert.equal((await rcOf('rmfile', { path: 'fs/copy/b/x.txt' })).rc, 0);
    assert.equal((await rcOf('rmdir', { paths: ['fs'] })).rc, 0);
    const missing = await rcOf('stat', { path: 'fs' });
    assert.equal(missing.rc, 2);
    assert.ok(missing.updates.some((u) => u.header === 'stat: No such file or directory: fs\n'));
  });
});
