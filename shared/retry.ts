/**
 * Owns every wait-and-try-again in the project: one Backoff, used by the client's followers, the worker's
 * queue poll and update sender, and the state lease. The polling rhythm every follower (updates, logs) shares: quick while the command is talking, backing
 * off while it is quiet, never slower than `maxMs`, so a reader sees output within half a second and an
 * idle follower costs two requests a second at most.
 */
export interface PollOptions {
  /** First wait after a poll that brought nothing new, in milliseconds. @default 50 */
  minMs?: number;
  /** Longest wait between polls, in milliseconds. @default 500 */
  maxMs?: number;
}

export const DEFAULT_POLL = { minMs: 50, maxMs: 500 } as const;

export class Backoff {
  private readonly minMs: number;
  private readonly maxMs: number;
  private nextMs: number;

  constructor(opts: PollOptions = {}) {
    this.minMs = opts.minMs ?? DEFAULT_POLL.minMs;
    this.maxMs = Math.max(opts.maxMs ?? DEFAULT_POLL.maxMs, this.minMs);
    this.nextMs = this.minMs;
  }

  /** Progress was made: the next quiet wait starts short again. */
  reset(): void {
    this.nextMs = this.minMs;
  }

  /** The wait before the next poll after a quiet one; each quiet poll doubles it up to maxMs. */
  next(): number {
    const wait = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    return wait;
  }

  /** Sleeps for next(); rejects with the signal's reason as soon as the signal aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    return sleep(this.next(), signal);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
