// The stock worker's command processes do not outlive it: a SIGKILLed buildbot-worker takes its commands' groups with it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildbotWorkerAvailable } from '../conformance/harness.ts';
import { readLog, startCommand, waitForCommand } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import { oneWorkerFixture, running } from './helpers.ts';

const skip = buildbotWorkerAvailable()
  ? false
  : 'buildbot-worker is not installed (apt-get install -y buildbot-worker; .ci/run installs it)';

const t = oneWorkerFixture('stockorph', ['--engine', 'buildbot-worker', '--concurrency', '2']);

/** The stock worker's pid, from the agent's last "buildbot-worker started (pid N" line. */
function stockPid(): number | undefined {
  const starts = [...t.proc.output().matchAll(/buildbot-worker started \(pid (\d+)/g)];
  return starts.length > 0 ? Number(starts.at(-1)![1]) : undefined;
}

describe('the stock worker engine and its commands’ processes', { skip }, () => {
  it('kills the process groups of the commands a SIGKILLed stock worker was running', async () => {
    // Prepare: a shell (and its sleep) in the group 3.7 made for it; a pipe and a pty command
    const ids = await Promise.all(
      [false, true].map((usePTY) =>
        startCommand(
          t.stack,
          t.worker.name,
          'shell',
          { workdir: '.', command: 'echo pid=$$; sleep 300', usePTY },
          { timeouts: { heartbeat: 3 } },
        ),
      ),
    );
    const pids: number[] = [];
    for (const id of ids)
      await waitFor(
        `command ${id} to print its pid`,
        async () => {
          const match = /pid=(\d+)/.exec(await readLog(t.stack, id));
          if (match) pids.push(Number(match[1]));
          return match !== null;
        },
        20_000,
      );
    const stock = stockPid()!;

    // Act
    process.kill(stock, 'SIGKILL');

    // Assess: the shells are gone within seconds, not after their 300 s
    await waitFor('the commands’ shells to be killed', () => pids.every((pid) => !running(pid)), 10_000);
    assert.match(t.proc.output(), /killed 2 process group\(s\) its commands left running/);
    for (const id of ids)
      assert.equal((await waitForCommand(t.stack, id, undefined, 60_000)).failure?.kind, 'worker_lost');
  });

  it('kills nothing of a command that has ended when the stock worker later exits', async () => {
    // Prepare: the stock worker runs again; one command runs to its end
    await waitFor(
      'the stock worker to run again',
      () => /connected/.test(t.proc.output().split('killed')[1] ?? ''),
      30_000,
    );
    // It lives long enough to be listed by the scan (an `echo` alone may exit before it), so its group is one the
    // agent knew of: the kill below must find it unlisted (or gone), not hit it. StockGroups' own test
    // (stockGroups.test.ts) checks the unlisting and the reused-number check directly.
    const id = await startCommand(t.stack, t.worker.name, 'shell', {
      workdir: '.',
      command: 'sleep 0.5; echo done',
    });
    assert.equal((await waitForCommand(t.stack, id, undefined, 60_000)).rc, 0);
    const before = t.proc.output().match(/killed \d+ process group/g)?.length ?? 0;

    // Act
    process.kill(stockPid()!, 'SIGKILL');
    await waitFor(
      'the agent to see the stock worker exit',
      () => /exited \(SIGKILL\)[^]*exited \(SIGKILL\)/.test(t.proc.output()),
      10_000,
    );

    // Assess
    assert.equal(t.proc.output().match(/killed \d+ process group/g)?.length ?? 0, before);
  });

  it('takes the stock worker and its command down with an agent killed by SIGKILL (the group keeper)', async () => {
    // Prepare: the stock worker runs again, with a command in its own group
    await waitFor(
      'the stock worker to connect',
      () => /connected[^]*$/.test(t.proc.output().split('SIGKILL').at(-1) ?? ''),
      30_000,
    );
    const id = await startCommand(t.stack, t.worker.name, 'shell', {
      workdir: '.',
      command: 'echo pid=$$; sleep 300',
    });
    let shell = 0;
    await waitFor(
      'the command to print its pid',
      async () => {
        shell = Number(/pid=(\d+)/.exec(await readLog(t.stack, id))?.[1] ?? 0);
        return shell > 0;
      },
      20_000,
    );
    const stock = stockPid()!;

    // Act
    t.proc.child.kill('SIGKILL');

    // Assess
    await waitFor(
      'the stock worker and the shell to be gone',
      () => !running(stock) && !running(shell),
      10_000,
    );
  });
});
