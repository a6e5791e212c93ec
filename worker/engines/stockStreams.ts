// The byte plumbing of the stock worker's transfers: its write blocks as an async iterable, a blob read in blocks.
import type { Readable } from 'node:stream';

/**
 * The blocks the stock worker writes (update_upload_file_write, update_upload_directory_write), handed one at a
 * time to the artifact upload (uploadStream iterates this). `push` settles once the upload has taken the
 * block, and the agent answers the worker's write only then: the worker sends its next block after that
 * answer, so at most one block waits here, whatever the size of the whole.
 *
 * The iteration ends only at `end()`, which the agent calls once the worker has reported rc 0: an upload
 * whose worker failed (a file it could not open, an interrupt) never completes an artifact, even an empty
 * one. `fail(error)` ends it with that error. When the upload stops reading (maxsize exceeded: it returns
 * early), later blocks are taken and dropped; when it failed, `push` rejects with its error, and the
 * worker's write gets that error as its exception, which stops the worker's loop.
 */
export class BlockChannel implements AsyncIterable<Buffer> {
  private queued: { block: Buffer; taken(): void }[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;
  private stopped = false;
  private consumerError: Error | undefined;
  /** Bytes the worker has written so far. */
  bytes = 0;

  push(block: Buffer): Promise<void> {
    this.bytes += block.length;
    if (this.consumerError) return Promise.reject(this.consumerError);
    if (this.stopped || this.ended || this.failure) return Promise.resolve();
    return new Promise((resolve) => {
      this.queued.push({ block, taken: resolve });
      this.wake();
    });
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  /** The upload failed: blocks still coming are answered with its error. */
  consumerFailed(error: Error): void {
    this.consumerError ??= error;
    this.release();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  private release(): void {
    this.stopped = true;
    for (const item of this.queued.splice(0)) item.taken();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    let current: { taken(): void } | undefined;
    try {
      for (;;) {
        const item = this.queued.shift();
        if (item) {
          // Answered once the consumer asks for the next block: uploadStream has copied this one by then.
          current = item;
          yield item.block;
          current = undefined;
          item.taken();
          continue;
        }
        if (this.failure) throw this.failure;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.waiter = resolve));
      }
    } finally {
      // The consumer returned early (maxsize) or threw: nothing more is read.
      current?.taken();
      this.release();
    }
  }
}

/**
 * A blob's GET body read in blocks of the size the stock worker asks for (update_read_file {length}): the
 * whole block when the body has it, the rest at its end, and an empty buffer after the end (the worker's
 * end of file). An error of the body (an interrupt's abort, S3 cutting the connection) is thrown.
 */
export class BlockReader {
  private waiter: (() => void) | undefined;
  private ended = false;
  private failure: Error | undefined;

  constructor(private readonly body: Readable) {
    body.on('readable', () => this.wake());
    body.on('end', () => {
      this.ended = true;
      this.wake();
    });
    body.on('error', (error) => {
      this.failure = error;
      this.wake();
    });
  }

  async read(length: number): Promise<Buffer> {
    for (;;) {
      if (this.failure) throw this.failure;
      const block = this.body.read(length) as Buffer | null;
      if (block) return block;
      if (this.ended) return Buffer.alloc(0);
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  destroy(): void {
    this.body.destroy();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
