import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import { shellCommand } from '../../worker/commands/shell.ts';
import type { StartedCommand } from '../../worker/commands/types.ts';

/**
 * The logfile watcher cannot hold a command: a FIFO or a link to a device named as a logfile is refused, and
 * maxTime and interrupt end the command on time. The shell command runs in this process, with real processes.
 */
let basedir: string;

before(async () => {
  basedir = await mkdtemp(path.join(tmpdir(), 'bbs-logfile-'));
});

after(async () => {
  await rm(basedir, { recursive: true, force: true });
});

interface Ran {
  started: StartedCommand;
  headers: () => string;
  logBytes: () => number;
}

async function startShell(args: Record<string, unknown>): Promise<Ran> {
  let headers = '';
  let logBytes = 0;
  const started = await shellCommand.start({
    commandId: 'logfile-test',
    args: { workdir: '.', logEnviron: false, ...args },
    basedir,
    send: (update: CommandUpdate) => {
      if (update.header) headers += update.header;
      // Counted, not kept: a watcher that reads /dev/zero must not take this test's memory with it.
      if (update.log) logBytes += update.log[1].length;
    },
    log: () => undefined,
  });
  return { started, headers: () => headers, logBytes: () => logBytes };
}

/** How long `done` took to settle, or Infinity when it did not within `limitMs`. */
async function settleTime(done: Promise<void>, since: number, limitMs: number): Promise<number> {
  const settled = await Promise.race([done.then(() => true), sleep(limitMs, false)]);
  return settled ? Date.now() - since : Infinity;
}

describe('logfile watcher', () => {
  it('ends a command on maxTime when its logfile is a FIFO the command made', async () => {
    // Prepare & Act
    const since = Date.now();
    const ran = await startShell({
      command: 'mkfifo fifo.log; sleep 30',
      maxTime: 2,
      logfiles: { fifo: 'fifo.log' },
    });
    const took = await settleTime(ran.started.done, since, 8_000);

    // Assess
    assert.ok(took < 5_000, `took ${took} ms`);
    assert.match(ran.headers(), /logfile fifo: is not a regular file; not read\n/);
    assert.match(ran.headers(), /command timed out: 2 seconds elapsed/);
  });

  it('ends a command on interrupt when its logfile is a FIFO the command made', async () => {
    // Prepare
    const ran = await startShell({ command: 'mkfifo fifo2.log; sleep 30', logfiles: { fifo: 'fifo2.log' } });
    await sleep(2_000);

    // Act
    const since = Date.now();
    ran.started.interrupt('test');
    const took = await settleTime(ran.started.done, since, 6_000);

    // Assess
    assert.ok(took < 2_000, `took ${took} ms`);
    assert.match(ran.headers(), /command interrupted, attempting to kill/);
  });

  it('refuses a logfile that becomes a link to /dev/zero, and ends on maxTime', async () => {
    // Prepare & Act
    const since = Date.now();
    const ran = await startShell({
      command: 'ln -s /dev/zero zero.log; sleep 30',
      maxTime: 2,
      logfiles: { zero: 'zero.log' },
    });
    const took = await settleTime(ran.started.done, since, 8_000);

    // Assess
    assert.ok(took < 5_000, `took ${took} ms`);
    assert.equal(ran.logBytes(), 0);
    assert.match(ran.headers(), /logfile zero: is not a regular file; not read\n/);
  });

  it('refuses a logfile that becomes a link to a regular file outside the base directory', async () => {
    // Act
    const ran = await startShell({
      command: 'ln -s /etc/passwd passwd.log; sleep 1.5',
      logfiles: { passwd: 'passwd.log' },
    });
    await ran.started.done;

    // Assess
    assert.equal(ran.logBytes(), 0);
    assert.match(
      ran.headers(),
      /logfile passwd: resolves to \/etc\/passwd, outside the worker's base directory; not read\n/,
    );
  });

  it('still tails a regular logfile, growing while it is read', async () => {
    // Prepare & Act
    const ran = await startShell({
      command:
        'echo first > ok.log; sleep 1.2; head -c 3000000 /dev/zero | tr "\\0" x >> ok.log; echo >> ok.log',
      logfiles: { ok: 'ok.log' },
    });
    await ran.started.done;

    // Assess
    assert.equal(ran.logBytes(), 'first\n'.length + 3_000_000 + 1);
  });
});
