import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import * as LIMITS from '../../shared/limits.ts';
import { decodeParts } from '../../shared/commands/textParts.ts';
import { decodeObject } from '../../shared/logs/objectRuns.ts';
import type { LogObjectStore } from '../../shared/logs/objects.ts';
import type { Unacked } from '../../worker/batcher.ts';
import { logObjectBatch } from '../../worker/logObjects.ts';

/** How the worker cuts log objects from its unacked updates (worker/logObjects.ts), without the API. */

/** `count` updates of random base64 text, `bytes` each, alternating stdout and stderr. */
function tinyAlternating(count: number, bytes: number): Unacked[] {
  const text = randomBytes(Math.ceil((count * bytes * 3) / 4)).toString('base64');
  return Array.from({ length: count }, (_, seq) => {
    const chunk = text.slice(seq * bytes, (seq + 1) * bytes);
    return { update: seq % 2 === 0 ? { stdout: chunk } : { stderr: chunk }, seq, bytes: bytes + 20 };
  });
}

describe('logObjectBatch', () => {
  it('cuts an object of many tiny updates at the parts a batch holds, which the API then takes', () => {
    // Prepare: 25,000 updates of 40 bytes, stdout and stderr in turn (1 MB, well under an object's bytes)
    const unacked = tinyAlternating(25_000, 40);
    // Act
    const first = logObjectBatch(unacked);
    const second = first && logObjectBatch(unacked.slice(first.batch.length));
    // Assess
    assert.ok(first, 'an object');
    assert.equal(first.batch.length, LIMITS.updatesPerBatch);
    assert.equal(decodeParts(first.ref.parts).length, LIMITS.updatesPerBatch);
    assert.equal(first.text.length, LIMITS.updatesPerBatch * 40);
    const decoded = decodeObject({ ref: first.ref, store: {} as LogObjectStore });
    assert.equal(decoded.outline.length, LIMITS.updatesPerBatch, 'the API accepts its parts');
    assert.equal(decoded.bytes, first.text.length);
    assert.ok(second, 'the rest is another object');
    assert.equal(second.ref.first, LIMITS.updatesPerBatch);
  });

  it('leaves output that compresses well to the updates requests', () => {
    // Prepare
    const unacked: Unacked[] = Array.from({ length: 100 }, (_, seq) => ({
      update: { stdout: 'hello\n'.repeat(1000) },
      seq,
      bytes: 6020,
    }));
    // Act & Assess
    assert.equal(logObjectBatch(unacked), undefined);
  });
});
