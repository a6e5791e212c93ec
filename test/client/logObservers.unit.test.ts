// Whole lines from chunks that split them anywhere: LineSplitter, the log observers and RemoteCommand's logs (no server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemoteCommand } from '../../shared/client/RemoteCommand.ts';
import { RemoteCommandStateError } from '../../shared/client/errors.ts';
import { LineSplitter } from '../../shared/client/logLines.ts';
import {
  BufferLogObserver,
  LineConsumerLogObserver,
  LogLineObserver,
  OutputProgressObserver,
} from '../../shared/client/logObservers.ts';
import { StreamLog } from '../../shared/client/logs.ts';
import type { LogStream } from '../../shared/client/logs.ts';

/** Every line `chunks` make, the flushed last one included. */
function split(chunks: string[], maxLineLength?: number): string[] {
  const splitter = new LineSplitter(maxLineLength);
  const lines = chunks.flatMap((chunk) => splitter.push(chunk));
  const last = splitter.flush();
  return last === undefined ? lines : [...lines, last];
}

/** A LogLineObserver that records each line with its stream. */
class Recorder extends LogLineObserver {
  readonly lines: [LogStream, string][] = [];
  override outLineReceived(line: string): void {
    this.lines.push(['o', line]);
  }
  override errLineReceived(line: string): void {
    this.lines.push(['e', line]);
  }
  override headerLineReceived(line: string): void {
    this.lines.push(['h', line]);
  }
}

describe('LineSplitter', () => {
  it('gives the same whole lines wherever the chunks cut the text, CRLF and a lone CR included', () => {
    // Prepare
    const text = 'first line\nsecond é✓ line\r\n\nprogress 10%\rprogress 100%\r\nlast, unterminated';
    const expected = [
      'first line',
      'second é✓ line',
      '',
      'progress 10%',
      'progress 100%',
      'last, unterminated',
    ];
    // Act, Assess: one chunk, every cut into two, every cut into three, and one character at a time
    assert.deepEqual(split([text]), expected);
    for (let i = 0; i <= text.length; i++) {
      assert.deepEqual(split([text.slice(0, i), text.slice(i)]), expected, `cut at ${i}`);
      for (let j = i; j <= text.length; j += 7)
        assert.deepEqual(
          split([text.slice(0, i), text.slice(i, j), text.slice(j)]),
          expected,
          `cuts ${i}, ${j}`,
        );
    }
    assert.deepEqual(split([...text]), expected);
  });

  it('holds a line back until its end arrives, and flush gives the unterminated rest once', () => {
    // Prepare
    const splitter = new LineSplitter();
    // Act, Assess
    assert.deepEqual(splitter.push('src/a.c:1: warn'), []);
    assert.deepEqual(splitter.push('ing: unused\nsrc/b'), ['src/a.c:1: warning: unused']);
    assert.deepEqual(splitter.push('.c:2: warning: x\n'), ['src/b.c:2: warning: x']);
    assert.equal(splitter.flush(), undefined, 'nothing is left after a newline');
    assert.deepEqual(splitter.push('tail'), []);
    assert.equal(splitter.flush(), 'tail');
    assert.equal(splitter.flush(), undefined);
  });

  it('a CR last in a chunk and an LF first in the next make one line end, not an empty line', () => {
    // Act, Assess
    assert.deepEqual(split(['a\r', '\nb\r', '', '\n']), ['a', 'b']);
    assert.deepEqual(split(['a\r']), ['a']);
    assert.deepEqual(split(['a\r', 'b']), ['a', 'b']);
  });

  it('drops a line over maxLineLength, holding at most that much, and goes on after its end', () => {
    // Prepare
    const splitter = new LineSplitter(10);
    // Act
    const lines = [
      ...splitter.push('short\n0123456789'),
      ...splitter.push('0123456789'.repeat(1000)),
      ...splitter.push('still long\nok\n0123456789\n'),
    ];
    // Assess
    assert.deepEqual(lines, ['short', 'ok', '0123456789']);
    assert.deepEqual(split(['x'.repeat(11)], 10), [], 'an unterminated long line is dropped too');
  });
});

describe('log observers', () => {
  it('LogLineObserver splits each stream on its own and flushes every stream at finish', () => {
    // Prepare
    const log = new StreamLog('stdio');
    const recorder = new Recorder();
    log.subscribe(recorder);
    // Act: a stderr line lands while a stdout line is half written
    log.addHeader('argv: [make]\n');
    log.addStdout('compiling a');
    log.addStderr('a.c:3: warning: x\nhalf err');
    log.addStdout('.c\nlinking');
    log.finish();
    // Assess
    assert.deepEqual(recorder.lines, [
      ['h', 'argv: [make]'],
      ['e', 'a.c:3: warning: x'],
      ['o', 'compiling a.c'],
      ['o', 'linking'],
      ['e', 'half err'],
    ]);
  });

  it('LineConsumerLogObserver feeds one generator every line and closes it at finish', () => {
    // Prepare
    const seen: string[] = [];
    let closed = false;
    const observer = new LineConsumerLogObserver(function* () {
      try {
        for (;;) {
          const [stream, line] = yield;
          seen.push(`${stream}:${line}`);
        }
      } finally {
        closed = true;
      }
    });
    const log = new StreamLog('stdio');
    log.subscribe(observer);
    // Act
    log.addStdout('one\ntw');
    log.addStderr('e\n');
    log.addStdout('o');
    log.finish();
    // Assess
    assert.deepEqual(seen, ['o:one', 'e:e', 'o:two']);
    assert.equal(closed, true);
  });

  it('BufferLogObserver and OutputProgressObserver see the chunks as they came', () => {
    // Prepare
    const log = new StreamLog('stdio', { keep: true });
    const buffer = new BufferLogObserver(true, true);
    const progress: number[] = [];
    log.subscribe(buffer);
    log.subscribe(new OutputProgressObserver('output', (_name, length) => progress.push(length)));
    // Act
    log.addStdout('ab');
    log.addStderr('c');
    log.addHeader('hh');
    // Assess
    assert.equal(buffer.getStdout(), 'ab');
    assert.equal(buffer.getStderr(), 'c');
    assert.deepEqual(progress, [2, 3, 5]);
    assert.equal(log.getText(), 'abchh');
    assert.equal(log.getText(['o']), 'ab');
  });
});

describe('RemoteCommand logs', () => {
  it('sends stdout, stderr and header to stdioLogName and log updates to their own log; keeps nothing unasked', async () => {
    // Prepare
    const cmd = new RemoteCommand('shell', {}, { stdioLogName: 'output' });
    const output = new StreamLog('output', { keep: true });
    const junit = new StreamLog('junit', { keep: true });
    const lines = new Recorder();
    cmd.useLog(output);
    cmd.useLog(junit, true);
    cmd.addLogObserver('output', lines);
    // Act
    await cmd.remoteUpdate({ header: 'h\n', stdout: 'warn' }, 0);
    await cmd.remoteUpdate({ stdout: 'ing: a\n', stderr: 'e\n', log: ['junit', '<x/>'] }, 1);
    await cmd.remoteUpdate({ log: ['nobody', 'dropped'], rc: 0 }, 2);
    // Assess
    assert.deepEqual(output.chunks, [
      ['h', 'h\n'],
      ['o', 'warn'],
      ['o', 'ing: a\n'],
      ['e', 'e\n'],
    ]);
    assert.equal(junit.getText(), '<x/>');
    assert.deepEqual([...cmd.logs.keys()], ['output', 'junit']);
    assert.deepEqual(lines.lines, [
      ['h', 'h'],
      ['o', 'warning: a'],
      ['e', 'e'],
    ]);
    assert.equal(cmd.stdout, '', 'collectStdout stays off');
  });

  it('has no logs unless asked, and refuses a second log under one name', () => {
    // Prepare
    const cmd = new RemoteCommand('shell', {});
    // Act, Assess
    assert.equal(cmd.logs.size, 0);
    assert.equal(cmd.stdioLogName, 'stdio');
    cmd.addLogObserver('stdio', new Recorder());
    assert.equal(cmd.logs.get('stdio')?.chunks.length, 0);
    assert.throws(() => cmd.useLog(new StreamLog('stdio')), RemoteCommandStateError);
    assert.equal(new RemoteCommand('shell', {}, { stdioLogName: null }).stdioLogName, null);
  });
});
