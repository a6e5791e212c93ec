// Owns Buildbot's log observers (process/logobserver.py) for the client: chunks, whole lines, buffers, progress.
import { DEFAULT_MAX_LINE_LENGTH, LineSplitter } from './logLines.ts';
import type { LogStream, LogSubscriber } from './logs.ts';

/**
 * Buildbot's LogObserver: subscribe it to a log (RemoteCommand.addLogObserver) and override the methods for
 * the streams it cares about. Each gets the chunks as they were stored, in order; finishReceived() runs once
 * when the command ends (after its last update, before remoteComplete()).
 */
export class LogObserver implements LogSubscriber {
  gotData(stream: LogStream, data: string): void {
    if (stream === 'o') this.outReceived(data);
    else if (stream === 'e') this.errReceived(data);
    else this.headerReceived(data);
  }

  finishReceived(): void {}

  outReceived(_data: string): void {}

  errReceived(_data: string): void {}

  headerReceived(_data: string): void {}
}

/**
 * Buildbot's LogLineObserver: override outLineReceived, errLineReceived and headerLineReceived to get whole
 * lines, without their line end. A line split across updates arrives once, whole; the unterminated last line
 * of each stream arrives at finish. Each stream is split on its own, so a stderr line printed while a stdout
 * line is half written does not cut it. Lines over maxLineLength (16384 characters) are dropped, as Buildbot's are.
 *
 * Unlike Buildbot's, which splits `data.rstrip()`, blank lines and trailing spaces are kept: the worker sends
 * chunks, not lines, so a chunk's end is not a line's end.
 */
export class LogLineObserver extends LogObserver {
  private splitters: Record<LogStream, LineSplitter> = LogLineObserver.splitters(DEFAULT_MAX_LINE_LENGTH);

  private static splitters(maxLength: number): Record<LogStream, LineSplitter> {
    return { o: new LineSplitter(maxLength), e: new LineSplitter(maxLength), h: new LineSplitter(maxLength) };
  }

  /** Buildbot's setMaxLineLength: lines longer than this are dropped. Call it before data arrives. */
  setMaxLineLength(maxLength: number): void {
    this.splitters = LogLineObserver.splitters(maxLength);
  }

  override outReceived(data: string): void {
    for (const line of this.splitters.o.push(data)) this.outLineReceived(line);
  }

  override errReceived(data: string): void {
    for (const line of this.splitters.e.push(data)) this.errLineReceived(line);
  }

  override headerReceived(data: string): void {
    for (const line of this.splitters.h.push(data)) this.headerLineReceived(line);
  }

  /** Flushes the unterminated last line of each stream. A subclass that overrides this calls super first. */
  override finishReceived(): void {
    const out = this.splitters.o.flush();
    if (out !== undefined) this.outLineReceived(out);
    const err = this.splitters.e.flush();
    if (err !== undefined) this.errLineReceived(err);
    const header = this.splitters.h.flush();
    if (header !== undefined) this.headerLineReceived(header);
  }

  outLineReceived(_line: string): void {}

  errLineReceived(_line: string): void {}

  headerLineReceived(_line: string): void {}
}

/** A consumer of `[stream, line]` pairs: Buildbot's generator protocol (`_, line = yield`). */
export type LineConsumer = () => Generator<void, void, [LogStream, string]>;

/**
 * Buildbot's LineConsumerLogObserver: every line of every stream goes to one generator, which is started on
 * the first line and closed (`return()`) at finish. WarningCountingShellCommand counts warnings this way.
 */
export class LineConsumerLogObserver extends LogLineObserver {
  private generator: Generator<void, void, [LogStream, string]> | undefined;
  private readonly consumer: LineConsumer;

  constructor(consumer: LineConsumer) {
    super();
    this.consumer = consumer;
  }

  override outLineReceived(line: string): void {
    this.feed(['o', line]);
  }

  override errLineReceived(line: string): void {
    this.feed(['e', line]);
  }

  override headerLineReceived(line: string): void {
    this.feed(['h', line]);
  }

  override finishReceived(): void {
    super.finishReceived();
    this.generator?.return();
  }

  private feed(input: [LogStream, string]): void {
    if (this.generator === undefined) {
      // Started on the first line, as Buildbot's: the observer may be built long before the command runs.
      this.generator = this.consumer();
      this.generator.next();
    }
    this.generator.next(input);
  }
}

/** Buildbot's BufferLogObserver: keeps stdout (and stderr when asked) of the log it observes. */
export class BufferLogObserver extends LogObserver {
  private readonly stdout: string[] | undefined;
  private readonly stderr: string[] | undefined;

  constructor(wantStdout = true, wantStderr = false) {
    super();
    this.stdout = wantStdout ? [] : undefined;
    this.stderr = wantStderr ? [] : undefined;
  }

  override outReceived(data: string): void {
    this.stdout?.push(data);
  }

  override errReceived(data: string): void {
    this.stderr?.push(data);
  }

  getStdout(): string {
    return this.stdout?.join('') ?? '';
  }

  getStderr(): string {
    return this.stderr?.join('') ?? '';
  }
}

/**
 * Buildbot's OutputProgressObserver: the characters seen so far on every stream. Buildbot reports them to
 * step.setProgress(name, length); there is no step here, so `onProgress` gets them.
 */
export class OutputProgressObserver extends LogObserver {
  readonly name: string;
  length = 0;
  private readonly onProgress: ((name: string, length: number) => void) | undefined;

  constructor(name: string, onProgress?: (name: string, length: number) => void) {
    super();
    this.name = name;
    this.onProgress = onProgress;
  }

  override gotData(_stream: LogStream, data: string): void {
    this.length += data.length;
    this.onProgress?.(this.name, this.length);
  }
}
