import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { readLog, readUpdates, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
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
    const deadline = Date.now() + 15_000;
    for (;;) {
      const text = await readFile(path.join(dir, file), 'utf8').catch(() => '');
      if (text.trim() !== '') return Number(text.trim());
      assert.ok(Date.now() < deadline, `${file} never appeared`);
      await sleep(50);
    }
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
      await sleep(5_000);

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
    await sleep(500);

    // Assess
    assert.equal(view.rc, 0);
    assert.equal(running(left), false);
  });
});
