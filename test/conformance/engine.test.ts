// The buildbot-worker engine as an agent: echo end to end, a download of a missing blob, and a stock worker that dies mid-command.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { readLog, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { running, spawnWorker, stopWorker } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';
import { buildbotWorkerAvailable } from './harness.ts';

const skip = buildbotWorkerAvailable()
  ? false
  : 'buildbot-worker is not installed (apt-get install -y buildbot-worker; .ci/run installs it)';

let stack: TestStack;
let worker: RegisteredWorker;
let proc: WorkerProcess;

/** The stock worker's pid, from the agent's last "buildbot-worker started (pid N" line. */
function stockPid(): number | undefined {
  const starts = [...proc.output().matchAll(/buildbot-worker started \(pid (\d+)/g)];
  return starts.length > 0 ? Number(starts.at(-1)![1]) : undefined;
}

describe('bbs worker --engine buildbot-worker', { skip }, () => {
  before(async () => {
    stack = await useStack();
    worker = await registerWorker(stack, 'engine-stock');
    proc = await spawnWorker(stack, worker, ['--engine', 'buildbot-worker']);
  });

  after(async () => {
    if (proc) await stopWorker(proc);
    await stack?.release();
  });

  it('runs echo hello through the stock worker and streams its output to the API', async () => {
    // Act
    const id = await startCommand(stack, worker.name, 'shell', { workdir: '.', command: ['echo', 'hello'] });
    const view = await waitForCommand(stack, id);

    // Assess
    assert.equal(view.rc, 0);
    assert.equal(view.results, 0);
    assert.match(await readLog(stack, id), /^hello$/m);
  });

  it('ends a download of a blob that does not exist with a header and rc 1, never a success', async () => {
    // Act
    const id = await startCommand(stack, worker.name, 'downloadFile', {
      blob: 'e'.repeat(32),
      workdir: '.',
      workerdest: 'f',
    });
    const view = await waitForCommand(stack, id);

    // Assess
    assert.equal(view.rc, 1);
    assert.match(await readLog(stack, id), /no blob e{32}/);
  });

  it('leaves the command to end as worker_lost when the stock worker dies, starts it again, runs the next', async () => {
    // Prepare
    const id = await startCommand(
      stack,
      worker.name,
      'shell',
      { workdir: '.', command: 'echo ready; sleep 30' },
      { timeouts: { heartbeat: 3 } },
    );
    await waitFor(
      'the command to print ready',
      async () => (await readLog(stack, id)).includes('ready'),
      20_000,
    );
    const pid = stockPid()!;

    // Act
    process.kill(pid, 'SIGKILL');
    const view = await waitForCommand(stack, id, undefined, 60_000);

    // Assess: no complete from the agent; the watchdog's verdict after the 3 s heartbeat timeout
    assert.equal(view.failure?.kind, 'worker_lost');
    assert.equal(view.results, RESULTS.RETRY);
    assert.match(proc.output(), /lost: left to the watchdog/);
    await waitFor(
      'the stock worker to run again',
      () => !running(pid) && (stockPid() ?? pid) !== pid,
      20_000,
    );
    const next = await startCommand(stack, worker.name, 'shell', { workdir: '.', command: 'echo again' });
    assert.equal((await waitForCommand(stack, next, undefined, 60_000)).rc, 0);
  });
});
