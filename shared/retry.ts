// Every wait-and-try-again in the project: Backoff (the doubling wait), RetryPolicy and Retries (when to give up), retry().

/**
 * One Backoff serves the client's followers and the state lease's waits, and through Retries the worker's
 * queue poll, claim and update sender, and the local stack's SQS pollers. The polling rhythm every follower (updates, logs) shares: quick
 * while the command is talking, backing off while it is quiet, never slower than `maxMs`, so a reader sees
 * output within half a second and an idle follower costs two requests a second at most.
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

/**
 * How an operation is tried again after a failure: the wait doubles from `minMs` to `maxMs` (a Backoff),
 * until `attempts` tries have failed or the failures have lasted longer than `giveUpMs`.
 */
export interface RetryPolicy {
  /** Wait after the first failure, in milliseconds. */
  readonly minMs: number;
  /** Longest wait between two tries, in milliseconds. */
  readonly maxMs: number;
  /** Tries in all, the first one included; the last one's failure is final. @default Infinity */
  readonly attempts?: number;
  /** No further try once the failures have lasted longer than this, in milliseconds. @default Infinity */
  readonly giveUpMs?: number;
}

/**
 * One operation's failures counted against a policy, for loops that retry() cannot wrap (the update sender
 * also resends at once, without a wait, after an answer that is not a failure).
 */
export class Retries {
  private readonly backoff: Backoff;
  private failures = 0;
  private failingSince: number | undefined;

  constructor(private readonly policy: RetryPolicy) {
    this.backoff = new Backoff({ minMs: policy.minMs, maxMs: policy.maxMs });
  }

  /**
   * A try failed: the wait before the next one, or undefined when the policy gives up. The give-up clock
   * starts at the first failure since the last success, or at `since` when the caller's clock started
   * earlier (retry() passes when the failing try began).
   */
  failed(since: number = Date.now()): number | undefined {
    this.failures++;
    this.failingSince ??= since;
    if (this.failures >= (this.policy.attempts ?? Infinity)) return undefined;
    if (Date.now() - this.failingSince > (this.policy.giveUpMs ?? Infinity)) return undefined;
    return this.backoff.next();
  }

  /** A try succeeded: the next failure waits minMs again and starts a new give-up clock. */
  succeeded(): void {
    this.failures = 0;
    this.failingSince = undefined;
    this.backoff.reset();
  }
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Whether a failure is worth another try; one that is not is thrown at once. @default every failure */
  isRetryable?: (error: unknown) => boolean;
  /** Ends the retrying: a wait stops at once, and the signal's reason is thrown instead of a failure. */
  signal?: AbortSignal;
  /** Called before each wait (for a log line), with the failure and the wait in milliseconds. */
  onRetry?: (error: unknown, waitMs: number) => void;
}

/** Runs `fn` until it resolves, waiting as the policy says between failures; throws the failure it gives up on. */
export async function retry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const retries = new Retries(opts.policy);
  for (;;) {
    opts.signal?.throwIfAborted();
    const triedAt = Date.now();
    try {
      return await fn();
    } catch (error) {
      // A failure once the signal aborted is the abort's doing (a cut request), not the operation's.
      if (opts.signal?.aborted) throw opts.signal.reason;
      const waitMs = opts.isRetryable?.(error) === false ? undefined : retries.failed(triedAt);
      if (waitMs === undefined) throw error;
      opts.onRetry?.(error, waitMs);
      await sleep(waitMs, opts.signal);
    }
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
