import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { RemoteCommand } from '../../shared/client/RemoteCommand.ts';
import { RemoteCommandStateError } from '../../shared/client/errors.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';

describe('RemoteCommand bookkeeping (no server)', () => {
  it("keeps rc, elapsed and failure_reason in fields and every other key's values in updates, as the seed does", async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', { command: 'true', workdir: '.' }, { collectStdout: true });

    // Act
    await cmd.remoteUpdate({ header: 'h\n', stdout: 'a' }, 0);
    await cmd.remoteUpdate({ stdout: 'b', stderr: 'e', log: ['junit', '<x/>'] }, 1);
    await cmd.remoteUpdate({ rc: 3, elapsed: 1.5, failure_reason: 'timeout' }, 2);

    // Assess
    assert.equal(cmd.stdout, 'ab');
    assert.equal(cmd.stderr, '', 'stderr is not collected unless asked');
    assert.equal(cmd.rc, 3);
    assert.equal(cmd.remoteElapsed, 1.5);
    assert.equal(cmd.remoteFailureReason, 'timeout');
    assert.deepEqual(cmd.updates, { log: [['junit', '<x/>']], elapsed: [1.5] });
  });

  it('computes results from decodeRC before the server has answered: decoded rc, else FAILURE', async () => {
    // Prepare
    const warnOnOne = new RemoteCommand(
      'shell',
      {},
      { decodeRC: { 0: RESULTS.SUCCESS, 1: RESULTS.WARNINGS } },
    );
    const plain = new RemoteCommand('shell', {});

    // Act
    await warnOnOne.remoteUpdate({ rc: 1 }, 0);
    await plain.remoteUpdate({ rc: 1 }, 0);

    // Assess
    assert.equal(warnOnOne.results(), RESULTS.WARNINGS);
    assert.equal(warnOnOne.didFail(), false);
    assert.equal(plain.results(), RESULTS.FAILURE);
    assert.equal(plain.didFail(), true);
  });

  it('does nothing on interrupt() when it was never run, as the seed ignores an inactive command', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', {});

    // Act
    await cmd.interrupt('why');

    // Assess
    assert.equal(cmd.interrupted, false);
    assert.equal(cmd.results(), RESULTS.FAILURE);
  });

  it('refuses a second run() while the first is active', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', {});
    cmd.active = true;
    // Port 9 (discard) on loopback: the check must fail before any request is made.
    const api = new CommandsClient({ apiUrl: 'http://127.0.0.1:9', token: 'unused' });

    // Act / Assess
    await assert.rejects(
      cmd.run(api, 'local'),
      (error) => error instanceof RemoteCommandStateError && /already running/.test(error.message),
    );
  });
});
