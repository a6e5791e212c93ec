// Buildbot's LogFileWatcher: tails a regular file named in `logfiles` while the shell command runs, a bounded amount per poll.
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StringDecoder } from 'node:string_decoder';
import * as LIMITS from '../../shared/limits.ts';

/**
 * Buildbot's LogFileWatcher: tails one file named in `logfiles` while the command runs. The file is
 * read once it changes after the command started (size, mtime or ctime), from its start, or from where
 * it ended at that moment when `follow` is set. Each read becomes a {log: [name, text]} update.
 *
 * Only a regular file is read. The file is opened non-blocking (a FIFO's open would wait for a writer),
 * then checked on the open descriptor (fstat), so a FIFO, a device (a link to /dev/zero) or a directory
 * is refused with a note, never read. A poll reads at most LIMITS.logfilePollBytes, and never past the size the
 * file had when the poll began, so a file that grows as fast as it is read cannot hold a poll. stop()
 * reads what is left up to the size at that moment, and waits for it at most STOP_WAIT_MS: a watcher can
 * never delay the end of its command by more than that.
 */
export const LOGFILE_POLL_MS = 1_000;
const READ_BYTES = 64 * 1024;
/** Longest that stop() waits for the last read (a stuck file system must not hold the command). @default 2000 */
export const STOP_WAIT_MS = 2_000;
/** Non-blocking (a FIFO opens at once), and never the controlling terminal. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

type FileStamp = string | null;

async function stampOf(file: string): Promise<FileStamp> {
  try {
    const s = await stat(file);
    return `${s.ctimeMs}:${s.mtimeMs}:${s.size}`;
  } catch {
    // Not there yet: the command may create it later.
    return null;
  }
}

/** Checks an opened log file before it is read; returns why it must not be, or undefined. */
export type OpenedFileCheck = (handle: FileHandle) => Promise<string | undefined>;

export interface LogFileWatcherOptions {
  name: string;
  file: string;
  follow: boolean;
  onData: (name: string, text: string) => void;
  /** A line for the command's headers: why the file is not read. */
  onNote: (text: string) => void;
  /** A further check on the opened file (the shell command confines it to the base directory). */
  check?: OpenedFileCheck;
}

export class LogFileWatcher {
  private initial: FileStamp = null;
  private handle: FileHandle | undefined;
  private position = 0;
  /** The stamp at which the file was refused: it is tried again only once it changes. */
  private refusedAt: FileStamp | undefined;
  private noted = false;
  private readonly decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: LogFileWatcherOptions) {}

  /** Records the file's state before the command runs. */
  async prepare(): Promise<void> {
    this.initial = await stampOf(this.opts.file);
  }

  start(): void {
    this.timer = setInterval(() => this.schedulePoll(LIMITS.logfilePollBytes), LOGFILE_POLL_MS);
  }

  /** Reads what is left (bounded, and waited for at most STOP_WAIT_MS), then closes the file. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.schedulePoll(LIMITS.logfileFinalBytes);
    const timeout = new AbortController();
    const finished = await Promise.race([
      this.polling.then(() => true),
      sleep(STOP_WAIT_MS, false, { signal: timeout.signal }).catch(() => false),
    ]);
    timeout.abort();
    this.stopped = true;
    if (!finished) {
      this.opts.onNote(
        `logfile ${this.opts.name}: still reading after ${STOP_WAIT_MS} ms; the rest is not sent\n`,
      );
      // Closed once the read under way returns.
      void this.polling.then(() => this.handle?.close()).catch(() => undefined);
      return;
    }
    const rest = this.decoder.end();
    if (rest) this.opts.onData(this.opts.name, rest);
    await this.handle?.close();
  }

  private schedulePoll(maxBytes: number): void {
    this.polling = this.polling.then(() => this.poll(maxBytes)).catch(() => undefined);
  }

  private refuse(now: FileStamp, why: string): void {
    this.refusedAt = now;
    if (this.noted) return;
    this.noted = true;
    this.opts.onNote(`logfile ${this.opts.name}: ${why}; not read\n`);
  }

  /** Opens the file once it changed, if it is a regular file that passes the check; false when not (yet). */
  private async openChanged(): Promise<boolean> {
    const now = await stampOf(this.opts.file);
    if (now === this.initial || now === this.refusedAt) return false;
    if (now === null) {
      // It was there and is gone: the command is starting a fresh one.
      this.initial = null;
      return false;
    }
    let handle: FileHandle;
    try {
      handle = await open(this.opts.file, OPEN_FLAGS);
    } catch {
      return false;
    }
    // Checked on what was opened, not on the name: a link swapped after the stat cannot change the answer.
    let why: string | undefined;
    try {
      const info = await handle.stat();
      why = info.isFile() ? await this.opts.check?.(handle) : 'is not a regular file';
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
    if (why !== undefined) {
      await handle.close();
      this.refuse(now, why);
      return false;
    }
    this.handle = handle;
    this.position = this.opts.follow ? Number(now.split(':')[2]) : 0;
    return true;
  }

  private async poll(maxBytes: number): Promise<void> {
    if (this.stopped) return;
    if (!this.handle && !(await this.openChanged())) return;
    const handle = this.handle!;
    // Never past the size the file has now: a file that grows while it is read cannot hold this poll.
    const end = Math.min((await handle.stat()).size, this.position + maxBytes);
    const chunk = Buffer.alloc(READ_BYTES);
    while (this.position < end && !this.stopped) {
      const { bytesRead } = await handle.read(
        chunk,
        0,
        Math.min(READ_BYTES, end - this.position),
        this.position,
      );
      if (bytesRead === 0) return;
      this.position += bytesRead;
      const text = this.decoder.write(chunk.subarray(0, bytesRead));
      if (text) this.opts.onData(this.opts.name, text);
    }
  }
}
