import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, Retries, retry, sleep } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import { CLAIM_RETRY } from '../worker/claim.ts';
import { UPDATES_RETRY } from '../worker/updateSender.ts';
import { QUEUE_POLL_RETRY } from '../worker/worker.ts';

describe('Backoff', () => {
  it('doubles the wait from 50 ms up to 500 ms while polls bring nothing, and starts over after progress', () => {
    // Prepare
    const backoff = new Backoff();

    // Act
    const quiet = Array.from({ length: 7 }, () => backoff.next());
    backoff.reset();
    const afterProgress = backoff.next();

    // Assess
    assert.deepEqual(quiet, [50, 100, 200, 400, 500, 500, 500]);
    assert.equal(afterProgress, 50);
  });

  it('never waits longer than maxMs, even when maxMs is below minMs', () => {
    // Prepare
    const backoff = new Backoff({ minMs: 300, maxMs: 100 });

    // Act
    const waits = [backoff.next(), backoff.next()];

    // Assess
    assert.deepEqual(waits, [300, 300]);
  });
});

describe('sleep', () => {
  it('rejects with the signal reason as soon as the signal aborts', async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error('stop');
    const started = Date.now();

    // Act
    const slept = sleep(10_000, controller.signal);
    setTimeout(() => controller.abort(reason), 20);

    // Assess
    await assert.rejects(slept, (error) => error === reason);
    assert.ok(Date.now() - started < 1_000);
  });

  it('rejects at once when the signal has already aborted', async () => {
    // Prepare
    const controller = new AbortController();
    controller.abort(new Error('already'));

    // Act / Assess
    await assert.rejects(sleep(10_000, controller.signal), /already/);
  });
});

/** The waits a policy gives for `failures` failures in a row (undefined where it gives up). */
function waits(policy: RetryPolicy, failures: number): Array<number | undefined> {
  const retries = new Retries(policy);
  return Array.from({ length: failures }, () => retries.failed());
}

/** A function that fails `times` times with Error('fail N'), then resolves 'done'; counts its calls. */
function failingThen(times: number): { fn: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    fn: async () => {
      calls++;
      if (calls <= times) throw new Error(`fail ${calls}`);
      return 'done';
    },
    calls: () => calls,
  };
}

describe('Retries', () => {
  it('doubles the wait from minMs up to maxMs, and starts over after a success', () => {
    // Prepare
    const retries = new Retries({ minMs: 100, maxMs: 500 });

    // Act
    const failing = [retries.failed(), retries.failed(), retries.failed(), retries.failed()];
    retries.succeeded();
    const afterSuccess = retries.failed();

    // Assess
    assert.deepEqual(failing, [100, 200, 400, 500]);
    assert.equal(afterSuccess, 100);
  });

  it('gives up on the failure of the last of `attempts` tries', () => {
    // Act / Assess
    assert.deepEqual(waits({ minMs: 10, maxMs: 1_000, attempts: 3 }, 3), [10, 20, undefined]);
  });

  it('gives up once the failures have lasted longer than giveUpMs, counted from `since` when given', () => {
    // Prepare
    const fresh = new Retries({ minMs: 10, maxMs: 10, giveUpMs: 1_000 });
    const old = new Retries({ minMs: 10, maxMs: 10, giveUpMs: 1_000 });

    // Act
    const firstFailure = fresh.failed();
    const startedLongAgo = old.failed(Date.now() - 1_001);

    // Assess
    assert.equal(firstFailure, 10);
    assert.equal(startedLongAgo, undefined);
  });

  it("keeps the worker's and the sender's delays as they were before they shared one policy", () => {
    // Act / Assess: receive 0.5 s doubling to 10 s, never giving up
    assert.deepEqual(waits(QUEUE_POLL_RETRY, 7), [500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    // claim: 200 × 2^attempt after attempts 1 to 4, the fifth failure final
    assert.deepEqual(waits(CLAIM_RETRY, 5), [400, 800, 1_600, 3_200, undefined]);
    // updates and complete: 100 ms doubling to 5 s
    assert.deepEqual(waits(UPDATES_RETRY, 8), [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
  });
});

describe('retry', () => {
  it('tries again after each failure and resolves with the first success, telling onRetry each wait', async () => {
    // Prepare
    const { fn, calls } = failingThen(2);
    const seen: Array<[string, number]> = [];

    // Act
    const result = await retry(fn, {
      policy: { minMs: 1, maxMs: 4 },
      onRetry: (error, waitMs) => seen.push([(error as Error).message, waitMs]),
    });

    // Assess
    assert.equal(result, 'done');
    assert.equal(calls(), 3);
    assert.deepEqual(seen, [
      ['fail 1', 1],
      ['fail 2', 2],
    ]);
  });

  it('throws a failure that isRetryable refuses at once, without waiting', async () => {
    // Prepare
    const { fn, calls } = failingThen(5);
    let retried = 0;

    // Act / Assess
    await assert.rejects(
      retry(fn, {
        policy: { minMs: 10_000, maxMs: 10_000 },
        isRetryable: () => false,
        onRetry: () => retried++,
      }),
      /fail 1/,
    );
    assert.equal(calls(), 1);
    assert.equal(retried, 0);
  });

  it('throws the last failure once the policy gives up', async () => {
    // Prepare
    const { fn, calls } = failingThen(5);

    // Act / Assess
    await assert.rejects(retry(fn, { policy: { minMs: 1, maxMs: 1, attempts: 3 } }), /fail 3/);
    assert.equal(calls(), 3);
  });

  it('stops waiting as soon as the signal aborts, rejects with its reason, and tries no more', async () => {
    // Prepare
    const { fn, calls } = failingThen(5);
    const controller = new AbortController();
    const reason = new Error('stopping');
    const started = Date.now();

    // Act
    const retrying = retry(fn, { policy: { minMs: 10_000, maxMs: 10_000 }, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);

    // Assess
    await assert.rejects(retrying, (error) => error === reason);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(calls(), 1);
  });

  it('rejects with the reason, not the failure, when the try failed because the signal aborted', async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error('stopping');
    let retried = 0;

    // Act
    const retrying = retry(
      () =>
        new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => reject(new Error('request aborted')));
        }),
      { policy: { minMs: 1, maxMs: 1 }, signal: controller.signal, onRetry: () => retried++ },
    );
    controller.abort(reason);

    // Assess
    await assert.rejects(retrying, (error) => error === reason);
    assert.equal(retried, 0);
  });
});
