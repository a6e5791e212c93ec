import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { readLog, readUpdates, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { running, spawnWorker, stopWorker } from './helpers.ts';
import type { WorkerProcess } from './helpers.ts';

/** What the worker defends on the build machine (docs/security.md, "The worker agent"), through a real worker process. */
let stack: TestStack;
let worker: RegisteredWorker;
let proc: WorkerProcess;

/**
 * Secrets the agent holds in its environment; none may reach a command. (AWS_PROFILE and the web-identity file
 * would change how the agent's own SDK finds its credentials, so the unit test of the filter covers those names.)
 */
const AGENT_SECRETS = {
  AWS_SESSION_TOKEN: 'session-token-of-the-agent',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token-of-the-agent',
  BBS_ADMIN_TOKEN: 'admin-token-in-the-agent-env',
};

before(async () => {
  stack = await useStack();
  worker = await registerWorker(stack, 'sec');
  proc = await spawnWorker(stack, worker, ['--concurrency', '2'], undefined, { env: AGENT_SECRETS });
});

after(async () => {
  if (proc) await stopWorker(proc);
  await stack?.release();
});

function run(command: string, args: Record<string, unknown>): Promise<string> {
  return startCommand(stack, worker.name, command, args);
}

describe('the environment a command gets', () => {
  it('holds neither the worker token nor AWS credentials, in `env` or in ${NAME} expansion', async () => {
    // Prepare
    // The stack's own AWS keys are the word 'local': the check for their names below covers them.
    const secrets = [worker.token, ...Object.values(AGENT_SECRETS)];

    // Act
    const id = await run('shell', {
      command: 'env; echo "token=[${BBS_WORKER_TOKEN}] key=[$AWS_SECRET_ACCESS_KEY] via-env=[$FROM_AGENT]"',
      workdir: '.',
      env: { FROM_AGENT: '${BBS_WORKER_TOKEN}${AWS_SECRET_ACCESS_KEY}${AWS_SESSION_TOKEN}', KEPT: 'yes' },
    });
    const view = await waitForCommand(stack, id);
    const log = await readLog(stack, id);

    // Assess
    assert.equal(view.rc, 0);
    for (const secret of secrets) assert.ok(!log.includes(secret), `the log holds ${secret}:\n${log}`);
    assert.match(log, /token=\[\] key=\[\] via-env=\[\]\n/);
    assert.match(log, /^KEPT=yes$/m);
    assert.match(log, /^PATH=/m);
    assert.doesNotMatch(log, /^(BBS_|AWS_(ACCESS|SECRET|SESSION|PROFILE|WEB_IDENTITY|CONTAINER))/m);
  });

  it('lets a command set credentials of its own through `env`', async () => {
    // Act
    const id = await run('shell', {
      command: 'echo "[$AWS_ACCESS_KEY_ID]"',
      workdir: '.',
      env: { AWS_ACCESS_KEY_ID: 'the-builds-own-key' },
      logEnviron: false,
    });
    await waitForCommand(stack, id);

    // Assess
    const stdout = (await readUpdates(stack, id)).map(([u]) => u.stdout ?? '').join('');
    assert.equal(stdout, '[the-builds-own-key]\n');
  });
});

describe('results too large to send', () => {
  for (const command of ['glob', 'listdir']) {
    it(`ends a ${command} whose list is over the files limit as finish_error naming the limit`, async () => {
      // Prepare: 1,600 names of 200 characters, about 330 KB as JSON.
      const dir = path.join(proc.basedir, `many-${command}`);
      await mkdir(dir);
      for (let i = 0; i < 1_600; i++)
        await writeFile(path.join(dir, `${String(i).padStart(4, '0')}${'n'.repeat(196)}`), '');

      // Act
      const id = await startCommand(
        stack,
        worker.name,
        command,
        { path: command === 'glob' ? `many-${command}/*` : `many-${command}` },
        { timeouts: { heartbeat: 5 } },
      );
      const view = await waitForCommand(stack, id, undefined, 30_000);

      // Assess
      assert.equal(view.failure?.kind, 'finish_error', JSON.stringify(view.failure));
      assert.equal(view.results, RESULTS.EXCEPTION);
      assert.match(
        view.failure?.message ?? '',
        /1600 paths are \d+ bytes as JSON, over the limit of 262144 bytes/,
      );
    });
  }
});

describe('no process outlives its command', () => {
  async function pidIn(dir: string, file: string): Promise<number> {
    const text = await waitFor(
      `${file}`,
      async () => (await readFile(path.join(dir, file), 'utf8').catch(() => '')).trim() || undefined,
      15_000,
    );
    return Number(text);
  }

  /** Waits up to `ms` for every pid to be gone; the assertions that follow say which one was not. */
  async function gone(ms: number, ...pids: number[]): Promise<void> {
    await waitFor('the processes to end', () => pids.every((pid) => !running(pid)), ms).catch(
      () => undefined,
    );
  }

  it('kills the process group of `sleep 600` within 5 s of the agent being SIGKILLed', async () => {
    // Prepare: a worker of its own, running a shell with a background child and a foreground sleep.
    const doomed = await registerWorker(stack, 'sigkill');
    const agent = await spawnWorker(stack, doomed);
    try {
      await startCommand(stack, doomed.name, 'shell', {
        command: 'sleep 600 & echo $! > bg.pid; echo $$ > fg.pid; sleep 600',
        workdir: '.',
        logEnviron: false,
      });
      const background = await pidIn(agent.basedir, 'bg.pid');
      const foreground = await pidIn(agent.basedir, 'fg.pid');
      assert.ok(running(background) && running(foreground));

      // Act
      agent.child.kill('SIGKILL');
      await agent.exited;
      await gone(5_000, foreground, background);

      // Assess
      assert.equal(running(foreground), false, 'the shell outlived the agent');
      assert.equal(running(background), false, 'its background sleep outlived the agent');
    } finally {
      await stopWorker(agent, 'SIGKILL');
    }
  });

  it('kills what a command left running in its group when the command ends', async () => {
    // Act
    const id = await run('shell', {
      command: 'sleep 600 > /dev/null 2>&1 < /dev/null & echo $! > left.pid',
      workdir: '.',
      logEnviron: false,
    });
    const view = await waitForCommand(stack, id);
    const left = await pidIn(proc.basedir, 'left.pid');
    await gone(500, left);

    // Assess
    assert.equal(view.rc, 0);
    assert.equal(running(left), false);
  });
});

describe('confinement by real path', () => {
  let outside: string;

  before(async () => {
    // Prepare: a directory outside the base directory, and links to it (and to a device and a FIFO) inside.
    outside = await mkdtemp(path.join(tmpdir(), 'bbs-outside-'));
    await mkdir(path.join(outside, 'sub'));
    await writeFile(path.join(outside, 'victim.txt'), 'keep me');
    await writeFile(path.join(outside, 'sub', 'victim.txt'), 'keep me too');
    await chmod(path.join(outside, 'victim.txt'), 0o444);
    execFileSync('mkfifo', [path.join(outside, 'fifo')]);
    const base = proc.basedir;
    await symlink(outside, path.join(base, 'out'));
    await symlink(path.join(outside, 'victim.txt'), path.join(base, 'victim-link'));
    await symlink('/dev/zero', path.join(base, 'zero'));
    await symlink(path.join(outside, 'fifo'), path.join(base, 'fifo-link'));
    await mkdir(path.join(base, 'real', 'deep'), { recursive: true });
    await writeFile(path.join(base, 'real', 'deep', 'f.txt'), 'inside');
    await symlink('real', path.join(base, 'in'));
  });

  after(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  async function outsideIntact(): Promise<void> {
    assert.equal(await readFile(path.join(outside, 'victim.txt'), 'utf8'), 'keep me');
    assert.equal(await readFile(path.join(outside, 'sub', 'victim.txt'), 'utf8'), 'keep me too');
    assert.equal((await stat(path.join(outside, 'victim.txt'))).mode & 0o777, 0o444);
  }

  const refused: [string, Record<string, unknown>][] = [
    ['rmdir', { paths: ['out/sub'] }],
    ['rmfile', { path: 'out/victim.txt' }],
    ['mkdir', { paths: ['out/new'] }],
    ['listdir', { path: 'out' }],
    ['stat', { path: 'victim-link' }],
    ['stat', { path: 'zero' }],
    ['stat', { path: 'fifo-link' }],
    ['cpdir', { fromdir: 'out', todir: 'copied' }],
    ['cpdir', { fromdir: 'real', todir: 'out/copied' }],
    ['shell', { command: 'touch escaped', workdir: 'out' }],
  ];
  for (const [command, args] of refused) {
    it(`refuses ${command} ${JSON.stringify(args)} through a link that leads out`, async () => {
      // Act
      const view = await waitForCommand(stack, await run(command, args));

      // Assess
      assert.equal(view.failure?.kind, 'start_error', JSON.stringify(view));
      assert.match(
        view.failure?.message ?? '',
        /^\w+ '[^/][^']*' leads through a symlink to .*, outside the worker's base directory/,
      );
      await outsideIntact();
      await assert.rejects(stat(path.join(outside, 'new')));
      await assert.rejects(stat(path.join(outside, 'escaped')));
    });
  }

  it('removes a link that leads out (rmdir, rmfile), never what it points to', async () => {
    // Prepare
    await symlink(outside, path.join(proc.basedir, 'out2'));
    await symlink(path.join(outside, 'victim.txt'), path.join(proc.basedir, 'victim-link2'));

    // Act
    const rmdirView = await waitForCommand(stack, await run('rmdir', { paths: ['out2'] }));
    const rmfileView = await waitForCommand(stack, await run('rmfile', { path: 'victim-link2' }));

    // Assess
    assert.equal(rmdirView.rc, 0);
    assert.equal(rmfileView.rc, 0);
    await assert.rejects(lstat(path.join(proc.basedir, 'out2')));
    await assert.rejects(lstat(path.join(proc.basedir, 'victim-link2')));
    await outsideIntact();
  });

  it('drops glob matches under a link that leads out, and keeps the ones inside', async () => {
    // Act
    const id = await run('glob', { path: 'in/*/*' });
    await waitForCommand(stack, id);
    const outId = await run('glob', { path: 'out/*' });
    await waitForCommand(stack, outId);

    // Assess
    const files = (await readUpdates(stack, id)).find(([u]) => u.files)?.[0].files;
    assert.deepEqual(files, ['in/deep/f.txt']);
    assert.deepEqual((await readUpdates(stack, outId)).find(([u]) => u.files)?.[0].files, []);
  });

  it('keeps links that stay inside working for every command', async () => {
    // Act & Assess
    const shell = await waitForCommand(
      stack,
      await run('shell', { command: 'cat f.txt', workdir: 'in/deep' }),
    );
    assert.equal(shell.rc, 0);
    assert.equal((await waitForCommand(stack, await run('stat', { path: 'in/deep/f.txt' }))).rc, 0);
    assert.equal((await waitForCommand(stack, await run('listdir', { path: 'in/deep' }))).rc, 0);
    assert.equal((await waitForCommand(stack, await run('mkdir', { paths: ['in/made'] }))).rc, 0);
    assert.equal(
      (await waitForCommand(stack, await run('cpdir', { fromdir: 'in/deep', todir: 'in/copy' }))).rc,
      0,
    );
    assert.equal(await readFile(path.join(proc.basedir, 'real', 'copy', 'f.txt'), 'utf8'), 'inside');
    assert.equal((await waitForCommand(stack, await run('rmfile', { path: 'in/copy/f.txt' }))).rc, 0);
    assert.equal((await waitForCommand(stack, await run('rmdir', { paths: ['in/made'] }))).rc, 0);
    await stat(path.join(proc.basedir, 'real', 'deep', 'f.txt'));
  });

  it('does not follow a directory swapped for a link while rmdir runs (best effort)', async () => {
    // Prepare: a wide tree, and a shell loop that keeps swapping one of its directories for a link out.
    const tree = path.join(proc.basedir, 'tree');
    for (let i = 0; i < 200; i++) {
      await mkdir(path.join(tree, `d${i}`), { recursive: true });
      await writeFile(path.join(tree, `d${i}`, 'f'), '');
    }
    const swapper = spawn(
      '/bin/sh',
      [
        '-c',
        `while true; do mkdir -p ${tree}/d150; rm -rf ${tree}/d150; ln -sfn ${outside}/sub ${tree}/d150; done`,
      ],
      { stdio: 'ignore' },
    );

    // Act
    try {
      for (let round = 0; round < 3; round++) {
        await waitForCommand(stack, await run('rmdir', { paths: ['tree'] }));
        await mkdir(path.join(tree, 'd1'), { recursive: true }).catch(() => undefined);
      }
    } finally {
      swapper.kill('SIGKILL');
    }

    // Assess
    await outsideIntact();
  });
});
