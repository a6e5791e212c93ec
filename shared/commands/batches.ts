// Owns a batch of sequenced updates: its seq order, the gap check against acked, and what the batch changes on the command record.
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { SequencedUpdate } from './apiTypes.ts';
import { UpdateGapError } from './errors.ts';
import * as LIMITS from '../limits.ts';

/** Throws ValidationError unless seqs rise by exactly one inside the batch. */
export function checkConsecutive(updates: SequencedUpdate[]): void {
  for (let i = 1; i < updates.length; i++) {
    const previous = updates[i - 1]![1];
    const seq = updates[i]![1];
    if (seq !== previous + 1)
      throw new ValidationError(
        `updates[${i}]: seq ${seq} follows ${previous}; seqs in a batch rise by one`,
        {
          details: { path: `updates[${i}][1]` },
        },
      );
  }
}

export type TrimOutcome =
  { kind: 'fresh'; updates: SequencedUpdate[] } | { kind: 'nothingNew' } | { kind: 'gap'; firstSeq: number };

/** Drops the updates already acknowledged (a resent batch); refuses a batch that starts after acked + 1. */
export function trimAcked(updates: SequencedUpdate[], acked: number): TrimOutcome {
  const fresh = updates.filter(([, seq]) => seq > acked);
  if (fresh.length === 0) return { kind: 'nothingNew' };
  const firstSeq = fresh[0]![1];
  if (firstSeq !== acked + 1) return { kind: 'gap', firstSeq };
  return { kind: 'fresh', updates: fresh };
}

/**
 * The gap check of updates and complete: the updates after `acked` (a resend repeats a stored prefix), or
 * undefined when every one is stored already. A batch that would leave a gap is an UpdateGapError, and the
 * worker resends from acked + 1.
 */
export function freshUpdates(
  commandId: string,
  updates: SequencedUpdate[],
  acked: number,
): SequencedUpdate[] | undefined {
  const trimmed = trimAcked(updates, acked);
  if (trimmed.kind === 'gap')
    throw new UpdateGapError(commandId, acked, `the batch starts at seq ${trimmed.firstSeq}, leaving a gap`);
  return trimmed.kind === 'fresh' ? trimmed.updates : undefined;
}

/** What a batch changes on the command record (the last value of each wins, as in Buildbot). */
export interface BatchSummary {
  rc?: number;
  elapsed?: number;
  failure_reason?: string;
  logNames: string[];
}

export function summarizeUpdates(updates: SequencedUpdate[]): BatchSummary {
  const summary: BatchSummary = { logNames: [] };
  const names = new Set<string>();
  for (const [update] of updates) {
    if (update.rc !== undefined) summary.rc = update.rc;
    if (update.elapsed !== undefined) summary.elapsed = update.elapsed;
    if (update.failure_reason !== undefined) summary.failure_reason = update.failure_reason;
    if (update.log) names.add(update.log[0]);
  }
  summary.logNames = [...names];
  return summary;
}

/**
 * Throws PayloadTooLargeError (nothing stored yet) when the batch would take the command past
 * LIMITS.logNamesPerCommand distinct log names: they are kept on the command record, and a record that
 * grows without bound would one day make its ending write fail. `known` are the names already recorded;
 * the caller's write is conditioned on the record it read, so a concurrent request cannot add names unseen.
 */
export function checkLogNames(known: ReadonlySet<string> | undefined, summary: BatchSummary): void {
  const names = new Set([...(known ?? []), ...summary.logNames]);
  if (names.size > LIMITS.logNamesPerCommand)
    throw new PayloadTooLargeError(
      `the command would have ${names.size} log names; the limit is ${LIMITS.logNamesPerCommand} (docs/limits.md)`,
      { details: { limit: LIMITS.logNamesPerCommand } },
    );
}

/** Parts of an UpdateExpression: SET and ADD clauses, with the values they name. */
export interface RecordChanges {
  sets: string[];
  adds: string[];
  values: Record<string, unknown>;
}

/** The record's changes a summary makes: SET rc, elapsed and failure_reason as reported, ADD the log names seen. */
export function summaryChanges(summary: BatchSummary): RecordChanges {
  const changes: RecordChanges = { sets: [], adds: [], values: {} };
  for (const field of ['rc', 'elapsed', 'failure_reason'] as const) {
    if (summary[field] !== undefined) {
      changes.sets.push(`${field} = :${field}`);
      changes.values[`:${field}`] = summary[field];
    }
  }
  if (summary.logNames.length > 0) {
    changes.adds.push('logNames :logNames');
    changes.values[':logNames'] = new Set(summary.logNames);
  }
  return changes;
}

/** `SET a, b ADD c` of the given clauses. */
export function updateExpression(sets: string[], adds: string[] = []): string {
  return `SET ${sets.join(', ')}${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`;
}
