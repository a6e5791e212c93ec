// Buildbot's LogFileWatcher: tails a file named in `logfiles` while the shell command runs.
import { open, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/**
 * Buildbot's LogFileWatcher: tails one file named in `logfiles` while the command runs. The file is
 * read once it changes after the command started (size, mtime or ctime), from its start, or from where
 * it ended at that moment when `follow` is set. Each read becomes a {log: [name, text]} update.
 */
export const LOGFILE_POLL_MS = 1_000;
const READ_BYTES = 64 * 1024;

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

export class LogFileWatcher {
  private initial: FileStamp = null;
  private handle: FileHandle | undefined;
  private position = 0;
  private readonly decoder = new StringDecoder('utf8');
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly name: string,
    private readonly file: string,
    private readonly follow: boolean,
    private readonly onData: (name: string, text: string) => void,
  ) {}

  /** Records the file's state before the command runs. */
  async prepare(): Promise<void> {
    this.initial = await stampOf(this.file);
  }

  start(): void {
    this.timer = setInterval(() => this.schedulePoll(), LOGFILE_POLL_MS);
  }

  /** Reads what is left, then closes the file. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.schedulePoll();
    await this.polling;
    const rest = this.decoder.end();
    if (rest) this.onData(this.name, rest);
    await this.handle?.close();
  }

  private schedulePoll(): void {
    this.polling = this.polling.then(() => this.poll());
  }

  private async poll(): Promise<void> {
    if (!this.handle) {
      const now = await stampOf(this.file);
      if (now === this.initial) return;
      if (now === null) {
        // It was there and is gone: the command is starting a fresh one.
        this.initial = null;
        return;
      }
      try {
        this.handle = await open(this.file, 'r');
      } catch {
        return;
      }
      this.position = this.follow ? Number(now.split(':')[2]) : 0;
    }
    const chunk = Buffer.alloc(READ_BYTES);
    for (;;) {
      const { bytesRead } = await this.handle.read(chunk, 0, READ_BYTES, this.position);
      if (bytesRead === 0) return;
      this.position += bytesRead;
      const text = this.decoder.write(chunk.subarray(0, bytesRead));
      if (text) this.onData(this.name, text);
    }
  }
}
