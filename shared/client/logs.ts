// Owns the client's log of a remote command (Buildbot's process/log.py Log): chunks by stream, subscribers, finish.
import { RemoteCommandStateError } from './errors.ts';

/** Which stream a chunk came from, as Buildbot's log channels: stdout, stderr, header. */
export type LogStream = 'o' | 'e' | 'h';

/** What a log calls: each chunk in order, then finish once (Buildbot's `subscribe(gotData)` with data None). */
export interface LogSubscriber {
  gotData(stream: LogStream, data: string): void;
  finishReceived(): void;
}

export interface StreamLogOptions {
  /**
   * Keep every chunk, so that getText() and chunks give the whole log. Off, the log only passes chunks to its
   * observers and holds nothing: a long build's output does not grow the client's memory unless asked.
   * @default false
   */
  keep?: boolean;
}

/**
 * One log of a remote command: `stdio` (stdout, stderr and header, as Buildbot's stdio log), or a log file the
 * worker watches (`{log: [name, text]}` updates, the `logfiles` argument of `shell`). Attach it with
 * RemoteCommand.useLog(); RemoteCommand.addLogObserver() makes one when none is attached.
 */
export class StreamLog {
  readonly name: string;
  /** `[stream, text]` in arrival order; empty unless created with `keep: true`. */
  readonly chunks: [LogStream, string][] = [];
  finished = false;
  private readonly keep: boolean;
  private readonly subscribers: LogSubscriber[] = [];

  constructor(name: string, opts: StreamLogOptions = {}) {
    this.name = name;
    this.keep = opts.keep ?? false;
  }

  /** Observers added after data arrived see only what comes next, as Buildbot's subscribers do. */
  subscribe(subscriber: LogSubscriber): void {
    this.subscribers.push(subscriber);
  }

  addStdout(data: string): void {
    this.add('o', data);
  }

  addStderr(data: string): void {
    this.add('e', data);
  }

  addHeader(data: string): void {
    this.add('h', data);
  }

  /** Ends the log: every subscriber's finishReceived() runs once (line observers flush their last line). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const subscriber of this.subscribers) subscriber.finishReceived();
  }

  /** The kept text of the given streams, in arrival order. @default every stream */
  getText(streams: readonly LogStream[] = ['o', 'e', 'h']): string {
    return this.chunks
      .filter(([stream]) => streams.includes(stream))
      .map(([, text]) => text)
      .join('');
  }

  private add(stream: LogStream, data: string): void {
    if (this.finished) throw new RemoteCommandStateError(`log '${this.name}' is finished: no more data`);
    if (data === '') return;
    if (this.keep) this.chunks.push([stream, data]);
    for (const subscriber of this.subscribers) subscriber.gotData(stream, data);
  }
}
