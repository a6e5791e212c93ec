import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandKey, padSeq, updateBatchKey } from '../../shared/commands/keys.ts';
import { DEFAULT_DECODE_RC, computeResults } from '../../shared/commands/results.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import { successEvent } from './helpers.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { checkConsecutive, summarizeUpdates, trimAcked } from '../../shared/commands/batches.ts';
import { commandIdFor } from '../../shared/commands/ids.ts';
import { logText } from '../../shared/commands/logText.ts';
import { COMPRESS_AT_REST_BYTES, decodeRun, planRuns } from '../../shared/commands/runs.ts';
import { isLaterEvent } from '../../shared/commands/lastResult.ts';
import type { CompletionEvent } from '../../shared/commands/wire.ts';
import { ValidationError } from '../../shared/errors.ts';
import { commandsHash } from '../../shared/workers/heartbeat.ts';
import { workerKey } from '../../shared/workers/keys.ts';

describe('computeResults', () => {
  it('follows Buildbot: CANCELLED if interrupted, else decodeRC[rc], else FAILURE; failures give their own results', () => {
    // Prepare
    const decodeRC = { '0': RESULTS.SUCCESS, '1': RESULTS.WARNINGS };
    // Act / Assess
    assert.equal(computeResults({ interrupted: false, rc: 0, decodeRC: DEFAULT_DECODE_RC }), RESULTS.SUCCESS);
    assert.equal(computeResults({ interrupted: false, rc: 1, decodeRC: DEFAULT_DECODE_RC }), RESULTS.FAILURE);
    assert.equal(computeResults({ interrupted: false, rc: 1, decodeRC }), RESULTS.WARNINGS);
    assert.equal(computeResults({ interrupted: false, decodeRC }), RESULTS.FAILURE);
    assert.equal(computeResults({ interrupted: true, rc: 0, decodeRC }), RESULTS.CANCELLED);
    assert.equal(
      computeResults({
        interrupted: false,
        rc: 0,
        decodeRC,
        failure: { kind: 'finish_error', message: 'x' },
      }),
      RESULTS.EXCEPTION,
    );
  });
});

describe('keys', () => {
  it('orders update runs by first seq through zero-padded sort keys', () => {
    // Act
    const keys = [10, 9, 100].map((seq) => updateBatchKey('abc', seq).sk).sort();
    // Assess
    assert.deepEqual(keys, ['UPD#000000000009', 'UPD#000000000010', 'UPD#000000000100']);
    assert.equal(padSeq(7), '000000000007');
    assert.deepEqual(commandKey('abc'), { pk: 'CMD#abc', sk: 'CMD' });
    assert.deepEqual(workerKey('w1'), { pk: 'WORKER#w1', sk: 'WORKER' });
  });

  it('derives the same command id from the same role and idempotency key, another from another role', () => {
    assert.equal(commandIdFor('client', 'k'), commandIdFor('client', 'k'));
    assert.notEqual(commandIdFor('client', 'k'), commandIdFor('admin', 'k'));
    assert.match(commandIdFor('client', undefined), /^[0-9a-f]{32}$/);
  });
});

describe('update merging', () => {
  const batch = (from: number, to: number): SequencedUpdate[] =>
    Array.from({ length: to - from + 1 }, (_, i) => [{ stdout: `${from + i}` }, from + i]);

  it('trims an acknowledged prefix, spots a gap, and sees a fully acknowledged batch as nothing new', () => {
    assert.deepEqual(trimAcked(batch(0, 4), 2), { kind: 'fresh', updates: batch(3, 4) });
    assert.deepEqual(trimAcked(batch(5, 6), 2), { kind: 'gap', firstSeq: 5 });
    assert.deepEqual(trimAcked(batch(0, 2), 2), { kind: 'nothingNew' });
    assert.deepEqual(trimAcked([], 2), { kind: 'nothingNew' });
  });

  it('refuses a batch whose seqs do not rise by one', () => {
    assert.throws(() => checkConsecutive([...batch(0, 1), ...batch(3, 3)]), ValidationError);
  });

  it('round-trips runs compressed or not', () => {
    // Prepare
    const large: SequencedUpdate[] = [
      [{ stdout: 'x'.repeat(COMPRESS_AT_REST_BYTES * 2) }, 0],
      [{ stderr: 'y' }, 1],
    ];
    // Act
    const [packed] = planRuns(large);
    const [small] = planRuns(batch(0, 1));
    // Assess
    assert.ok(packed?.encoded.fragBr);
    assert.ok(small?.encoded.frag);
    assert.deepEqual(decodeRun({ first: 0, last: 1, ...packed.encoded }), large);
    assert.deepEqual(decodeRun({ first: 0, last: 1, ...small.encoded }), batch(0, 1));
  });

  it('builds stdio in arrival order and named logs apart, and summarizes rc and log names', () => {
    // Prepare
    const updates: SequencedUpdate[] = [
      [{ header: 'h' }, 0],
      [{ stdout: 'o' }, 1],
      [{ log: ['a', 'A'] }, 2],
      [{ stderr: 'e' }, 3],
      [{ rc: 2 }, 4],
    ];
    // Act / Assess
    assert.equal(logText(updates, 'stdio'), 'hoe');
    assert.equal(logText(updates, 'a'), 'A');
    assert.deepEqual(summarizeUpdates(updates), { rc: 2, logNames: ['a'] });
  });
});

describe('lastResult ordering', () => {
  const at = (completedAt: string, commandId: string): CompletionEvent =>
    successEvent({ commandId, worker: 'w', completedAt });

  it('takes the later completedAt, breaks a tie by commandId, and sees a duplicate as not later', () => {
    const early = at('2030-01-01T00:00:01.000Z', 'b');
    const late = at('2030-01-01T00:00:02.000Z', 'a');
    assert.equal(isLaterEvent(early, undefined), true);
    assert.equal(isLaterEvent(late, early), true);
    assert.equal(isLaterEvent(early, late), false);
    assert.equal(isLaterEvent(at(early.completedAt, 'c'), early), true);
    assert.equal(isLaterEvent(at(early.completedAt, 'a'), early), false);
    assert.equal(isLaterEvent(early, early), false);
  });
});

describe('the command registry hash', () => {
  it('is short, the same for the same list and differs for another list or order', () => {
    const hash = commandsHash(['shell', 'mkdir']);
    assert.equal(hash.length, 22);
    assert.equal(commandsHash(['shell', 'mkdir']), hash);
    assert.notEqual(commandsHash(['mkdir', 'shell']), hash);
    assert.notEqual(commandsHash(['shell']), hash);
  });
});
