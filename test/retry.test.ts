import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, sleep } from '../shared/retry.ts';

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
