import { gunzipSync, gzipSync } from 'node:zlib';
import { PayloadTooLargeError, ValidationError } from '../errors.ts';
import type { CommandUpdate } from './wire.ts';

/**
 * Pure update handling: ordering checks, trimming a resent prefix, cutting a batch into items that fit
 * DynamoDB's 400 KB item limit, compression at rest, and the text of logs.
 */
export type SequencedUpdate = [CommandUpdate, number];

/** JSON bytes above which a stored batch is gzipped into a Binary attribute. @default 4 KiB */
export const COMPRESS_AT_REST_BYTES = 4 * 1024;
/** JSON bytes of updates gathered into one item before a new item starts. @default 256 KiB */
export const ITEM_UPDATES_BYTES = 256 * 1024;
/** Largest stored payload of one item (DynamoDB allows 400 KB including keys). @default 380 KB */
export const ITEM_PAYLOAD_MAX_BYTES = 380 * 1000;

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

/** Cuts consecutive updates into runs of about ITEM_UPDATES_BYTES of JSON (one update never splits). */
export function chunkUpdates(updates: SequencedUpdate[], maxBytes = ITEM_UPDATES_BYTES): SequencedUpdate[][] {
  const chunks: SequencedUpdate[][] = [];
  let current: SequencedUpdate[] = [];
  let bytes = 0;
  for (const update of updates) {
    const size = Buffer.byteLength(JSON.stringify(update));
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(update);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** How a run of updates is stored: JSON text when small, gzip bytes when large. */
export type EncodedUpdates = { json: string; gz?: never } | { gz: Uint8Array; json?: never };

export function encodeUpdates(updates: SequencedUpdate[]): EncodedUpdates {
  const json = JSON.stringify(updates.map(([update]) => update));
  const bytes = Buffer.byteLength(json);
  if (bytes <= COMPRESS_AT_REST_BYTES) return { json };
  const gz = gzipSync(json, { level: 6 });
  if (gz.length > ITEM_PAYLOAD_MAX_BYTES)
    throw new PayloadTooLargeError(
      `an update run of ${bytes} bytes compresses to ${gz.length} bytes, over the ${ITEM_PAYLOAD_MAX_BYTES}-byte item limit; send smaller updates`,
      { details: { limit: ITEM_PAYLOAD_MAX_BYTES } },
    );
  return { gz: new Uint8Array(gz.buffer, gz.byteOffset, gz.length) };
}

export function decodeUpdates(first: number, encoded: { json?: string; gz?: Uint8Array }): SequencedUpdate[] {
  const json = encoded.gz ? gunzipSync(encoded.gz).toString('utf8') : (encoded.json ?? '[]');
  const updates = JSON.parse(json) as CommandUpdate[];
  return updates.map((update, i) => [update, first + i]);
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

/** The log Buildbot calls stdio: stdout, stderr and header, in arrival order. */
export const STDIO_LOG = 'stdio';

/** The text a run of updates adds to log `name`. */
export function logText(updates: SequencedUpdate[], name: string): string {
  let text = '';
  for (const [update] of updates) {
    if (name === STDIO_LOG) {
      if (update.header !== undefined) text += update.header;
      if (update.stdout !== undefined) text += update.stdout;
      if (update.stderr !== undefined) text += update.stderr;
    } else if (update.log && update.log[0] === name) {
      text += update.log[1];
    }
  }
  return text;
}
