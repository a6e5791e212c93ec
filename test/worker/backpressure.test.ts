import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import { shellCommand } from '../../worker/commands/shell.ts';

/**
 * A command that writes faster than the API stores is held, not buffered without end: while the update
 * sender reports itself backlogged, the shell command pauses the process's pipes (the process blocks on its
 * writes), and its no-output timer does not run. Real processes, the shell command in this process; the
 * sender's own bound (UpdateSender.backlogged) is tested in test/worker/unit/updateSender.test.ts.
 */
let basedir: string;

before(async () => {
  basedir = await mkdtemp(path.join(tmpdir(), 'bbs-backpressure-'));
});

after(async () => {
  await rm(basedir, { recursive: true, force: true });
});

/** A backlog switched by the test: held() makes backlogged() hand out a promise, release() settles it. */
function switchableBacklog(): { backlogged: () => Promise<void> | undefined; hold(): void; release(): void } {
  let drained: Promise<void> | undefined;
  let resolve: (() => void) | undefined;
  return {
    backlogged: () => drained,
    hold() {
      drained = new Promise((r) => (resolve = r));
    },
    release() {
      drained = undefined;
      resolve?.();
    },
  };
}

/** Bytes of a pipe's buffer on Linux plus one chunk of Node's read: what may still arrive once paused. */
const PIPE_SLACK_BYTES = 2 * 64 * 1024;

describe('output backpressure', () => {
  it('stops reading a fast writer while backlogged, and reads all of it once drained', async () => {
    // Prepare: 64 MiB of output, counted
    const backlog = switchableBacklog();
    let stdoutBytes = 0;
    let rc: number | undefined;
    const started = await shellCommand.start({
      commandId: 'backpressure-test',
      args: { workdir: '.', logEnviron: false, command: 'head -c 67108864 /dev/zero' },
      basedir,
      send: (update: CommandUpdate) => {
        if (update.stdout) stdoutBytes += Buffer.byteLength(update.stdout);
        if (update.rc !== undefined) rc = update.rc;
      },
      backlogged: backlog.backlogged,
      log: () => undefined,
    });

    // Act: hold at once, wait, and see how much came while held
    backlog.hold();
    await sleep(300);
    const whileHeld = stdoutBytes;
    await sleep(700);
    const afterHold = stdoutBytes;
    backlog.release();
    await started.done;

    // Assess
    assert.ok(whileHeld < 64 * 1024 * 1024, 'the writer was held before it could finish');
    assert.ok(
      afterHold - whileHeld <= PIPE_SLACK_BYTES,
      `${afterHold - whileHeld} bytes arrived during 700 ms held`,
    );
    assert.equal(stdoutBytes, 64 * 1024 * 1024);
    assert.equal(rc, 0);
  });

  it('does not call a held command silent: the no-output timeout waits for the pipes to flow again', async () => {
    // Prepare: a 1 s no-output timeout, held for 2.5 s right after the first output
    const backlog = switchableBacklog();
    let headers = '';
    let rc: number | undefined;
    const started = await shellCommand.start({
      commandId: 'backpressure-timeout',
      args: { workdir: '.', logEnviron: false, timeout: 1, command: 'head -c 1048576 /dev/zero' },
      basedir,
      send: (update: CommandUpdate) => {
        if (update.header) headers += update.header;
        if (update.rc !== undefined) rc = update.rc;
      },
      backlogged: backlog.backlogged,
      log: () => undefined,
    });

    // Act
    backlog.hold();
    await sleep(2_500);
    backlog.release();
    await started.done;

    // Assess
    assert.doesNotMatch(headers, /seconds without output/);
    assert.equal(rc, 0);
  });

  it('reads a held process to its end when it is interrupted, without waiting for the backlog', async () => {
    // Prepare: a writer that never stops, held for good
    const backlog = switchableBacklog();
    let headers = '';
    let rc: number | undefined;
    const started = await shellCommand.start({
      commandId: 'backpressure-interrupt',
      args: { workdir: '.', logEnviron: false, command: 'cat /dev/zero' },
      basedir,
      send: (update: CommandUpdate) => {
        if (update.header) headers += update.header;
        if (update.rc !== undefined) rc = update.rc;
      },
      backlogged: backlog.backlogged,
      log: () => undefined,
    });
    backlog.hold();
    await sleep(300);

    // Act
    const since = Date.now();
    started.interrupt('test');
    await started.done;

    // Assess: ended by the kill (rc -1 for a signal, as Buildbot's), not by the 5 s give-up
    assert.ok(Date.now() - since < 4_000, `took ${Date.now() - since} ms`);
    assert.equal(rc, -1);
    assert.doesNotMatch(headers, /failed to kill/);
  });
});
