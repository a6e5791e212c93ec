// RemoteCommand's logs and line observers against the local stack and a real worker: warnings counted as Buildbot does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RemoteCommand } from '../../shared/client/RemoteCommand.ts';
import { RemoteCommandFailedError } from '../../shared/client/errors.ts';
import { LogLineObserver } from '../../shared/client/logObservers.ts';
import { StreamLog } from '../../shared/client/logs.ts';
import { startWorkerOnStack } from './helpers.ts';
import type { StackWithWorker } from './helpers.ts';

/** docs/client.md's example: WarningCountingShellCommand's count, with its default warningPattern. */
class WarningCounter extends LogLineObserver {
  warnCount = 0;
  readonly loggedWarnings: string[] = [];
  private finishedCalls = 0;

  constructor(private readonly warningPattern = /^.*warning[: ].*$/i) {
    super();
  }

  get finishes(): number {
    return this.finishedCalls;
  }

  override outLineReceived(line: string): void {
    this.check(line);
  }

  override errLineReceived(line: string): void {
    this.check(line);
  }

  override headerLineReceived(line: string): void {
    this.check(line);
  }

  override finishReceived(): void {
    super.finishReceived();
    this.finishedCalls += 1;
  }

  private check(line: string): void {
    if (!this.warningPattern.test(line)) return;
    this.loggedWarnings.push(line);
    this.warnCount += 1;
  }
}

describe('RemoteCommand logs on the local stack with a real worker', () => {
  let env: StackWithWorker;

  before(async () => {
    env = await startWorkerOnStack('logs');
  });

  after(async () => {
    await env?.stop();
  });

  it('counts warnings on whole lines although the worker sends each line in pieces, the last one unterminated', async () => {
    // Prepare: each warning is printed in two parts 300 ms apart (the worker flushes every 100 ms), and the
    // script names no warning itself, so the header's argv line does not count.
    const script =
      'w=warning; W=WARNING; for i in 1 2 3; do printf "src/f$i.c:$i: $w: par"; sleep 0.3; ' +
      'printf "tial $i\\nclean line $i\\n"; done; printf "lib.c:9: $W" >&2; sleep 0.3; ' +
      'printf " from stderr\\n" >&2; echo "no warnings here"; printf "last $w: unterminated"';
    const cmd = new RemoteCommand('shell', { command: script, workdir: '.' });
    const stdio = new StreamLog('stdio', { keep: true });
    const counter = new WarningCounter();
    cmd.useLog(stdio, true);
    cmd.addLogObserver('stdio', counter);

    // Act
    await cmd.run(env.api, env.workerName);

    // Assess
    assert.equal(cmd.rc, 0);
    assert.deepEqual(counter.loggedWarnings, [
      'src/f1.c:1: warning: partial 1',
      'src/f2.c:2: warning: partial 2',
      'src/f3.c:3: warning: partial 3',
      'lib.c:9: WARNING from stderr',
      'last warning: unterminated',
    ]);
    assert.equal(counter.warnCount, 5);
    assert.equal(counter.finishes, 1);
    assert.equal(stdio.finished, true);
    const cut = stdio.chunks.filter(([stream, text]) => stream === 'o' && text.endsWith(': par'));
    assert.ok(cut.length >= 2, `lines were split across updates: ${JSON.stringify(stdio.chunks)}`);
    assert.equal(
      stdio.getText(),
      await env.api.getLog(cmd.commandId ?? '', 'stdio'),
      'the log is the stored stdio',
    );
  });

  it('closes the logs on a failure with the failure in a header line, and keeps nothing for a log not attached', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', { command: ['no-such-executable-here'], workdir: '.' });
    const headers: string[] = [];
    cmd.addLogObserver(
      'stdio',
      new (class extends LogLineObserver {
        override headerLineReceived(line: string): void {
          headers.push(line);
        }
      })(),
    );

    // Act
    const outcome = await cmd.run(env.api, env.workerName).then(
      () => undefined,
      (error: unknown) => error,
    );

    // Assess
    assert.ok(outcome instanceof RemoteCommandFailedError, String(outcome));
    assert.equal(outcome.failure.kind, 'start_error');
    assert.match(headers.at(-1) ?? '', /^remoteFailed: start_error: /);
    assert.equal(cmd.logs.get('stdio')?.finished, true);
    assert.deepEqual(cmd.logs.get('stdio')?.chunks, [], 'a log made by addLogObserver keeps no text');
  });
});
