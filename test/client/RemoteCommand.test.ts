import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import type { CommandFailure } from '../../shared/commands/types.ts';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import { RemoteCommand } from '../../shared/client/RemoteCommand.ts';
import { RemoteCommandFailedError } from '../../shared/client/errors.ts';
import { waitFor } from '../support/wait.ts';
import { startWorkerOnStack } from './helpers.ts';
import type { StackWithWorker } from './helpers.ts';

describe('RemoteCommand on the local stack with a real worker', () => {
  let env: StackWithWorker;

  before(async () => {
    env = await startWorkerOnStack('rc');
  });

  after(async () => {
    await env?.stop();
  });

  it('resolves on completion with rc and results decoded by decodeRC, active only in between', async () => {
    // Prepare
    const cmd = new RemoteCommand(
      'shell',
      { command: ['sh', '-c', 'echo out; echo err >&2; exit 1'], workdir: '.' },
      { decodeRC: { 0: RESULTS.SUCCESS, 1: RESULTS.WARNINGS }, collectStdout: true, collectStderr: true },
    );

    // Act
    const running = cmd.run(env.api, env.workerName);
    const activeWhileRunning = cmd.active;
    const done = await running;

    // Assess
    assert.equal(activeWhileRunning, true);
    assert.equal(done, cmd);
    assert.equal(cmd.active, false);
    assert.match(cmd.commandId ?? '', /^[0-9a-f]{32}$/);
    assert.equal(cmd.rc, 1);
    assert.equal(cmd.results(), RESULTS.WARNINGS);
    assert.equal(cmd.didFail(), false);
    assert.equal(cmd.failure, undefined);
    assert.equal(cmd.stdout, 'out\n');
    assert.equal(cmd.stderr, 'err\n');
    assert.equal(cmd.view?.status, 'complete');
  });

  it("gives a subclass's remoteUpdate every update once, in seq order, across many batches", async () => {
    // Prepare
    class Recorder extends RemoteCommand {
      readonly seen: [CommandUpdate, number][] = [];
      override async remoteUpdate(update: CommandUpdate, seq: number): Promise<void> {
        this.seen.push([update, seq]);
        await super.remoteUpdate(update, seq);
      }
    }
    const script = 'i=0; while [ $i -lt 30 ]; do echo line$i; i=$((i+1)); sleep 0.02; done';
    const cmd = new Recorder('shell', { command: script, workdir: '.' });

    // Act
    await cmd.run(env.api, env.workerName);

    // Assess
    const seqs = cmd.seen.map(([, seq]) => seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i),
    );
    assert.equal(seqs.length, (cmd.view?.acked ?? -2) + 1, 'every stored update reached remoteUpdate');
    assert.ok(seqs.length > 3, `expected several updates, got ${seqs.length}`);
    const stdout = cmd.seen.map(([update]) => update.stdout ?? '').join('');
    assert.equal(stdout, Array.from({ length: 30 }, (_, i) => `line${i}\n`).join(''));
    assert.equal(cmd.rc, 0);
    assert.equal(cmd.results(), RESULTS.SUCCESS);
  });

  it('rejects with RemoteCommandFailedError when remoteComplete propagates a start_error', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', { command: ['/nonexistent/program'], workdir: '.' });

    // Act
    const outcome = cmd.run(env.api, env.workerName);

    // Assess
    await assert.rejects(outcome, (error) => {
      assert.ok(error instanceof RemoteCommandFailedError);
      assert.equal(error.failure.kind, 'start_error');
      assert.equal(error.commandId, cmd.commandId);
      return true;
    });
    assert.equal(cmd.active, false);
    assert.equal(cmd.results(), RESULTS.EXCEPTION);
    assert.equal(cmd.didFail(), false, "the seed's didFail is FAILURE only");
  });

  it('resolves when a subclass consumes the failure, which it received in remoteComplete', async () => {
    // Prepare
    class Consumer extends RemoteCommand {
      received: CommandFailure | undefined;
      override async remoteComplete(failure: CommandFailure | undefined): Promise<undefined> {
        this.received = failure;
        return undefined;
      }
    }
    const cmd = new Consumer('shell', { command: ['/nonexistent/program'], workdir: '.' });

    // Act
    await cmd.run(env.api, env.workerName);

    // Assess
    assert.equal(cmd.received?.kind, 'start_error');
    assert.match(cmd.received?.message ?? '', /nonexistent/);
    assert.deepEqual(cmd.failure, cmd.received);
    assert.equal(cmd.results(), RESULTS.EXCEPTION);
  });

  it('interrupts a running command: run() resolves CANCELLED within seconds, with no failure to propagate', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', { command: ['sleep', '30'], workdir: '.' });
    const started = Date.now();
    const running = cmd.run(env.api, env.workerName);
    await waitFor('the command to run', async () => {
      if (!cmd.commandId) return false;
      return (await env.api.getCommand(cmd.commandId)).status === 'running';
    });

    // Act
    await cmd.interrupt('test says stop');
    await running;

    // Assess
    assert.equal(cmd.results(), RESULTS.CANCELLED);
    assert.equal(cmd.interrupted, true);
    assert.equal(cmd.active, false);
    assert.equal(cmd.view?.interrupted?.why, 'test says stop');
    assert.ok(Date.now() - started < 15_000, `took ${Date.now() - started} ms`);
  });

  it('ignores interrupt() once the command has finished, as the seed does for an inactive command', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', { command: ['true'], workdir: '.' });
    await cmd.run(env.api, env.workerName);

    // Act
    await cmd.interrupt('too late');

    // Assess
    assert.equal(cmd.interrupted, false);
    assert.equal(cmd.results(), RESULTS.SUCCESS);
  });
});
