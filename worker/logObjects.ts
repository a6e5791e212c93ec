// Owns the worker's log objects: a long stretch of output that does not compress, put in S3 through the URL the updates API answers, then recorded.
import { createHash } from 'node:crypto';
import { TransferFailedError } from '../shared/artifacts/errors.ts';
import { putObject } from '../shared/artifacts/transfer.ts';
import { apiRequest, brotliQuick } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import { LOG_OBJECT_MAX_BYTES, LOG_OBJECT_MIN_BYTES } from '../shared/commands/runs.ts';
import * as LIMITS from '../shared/limits.ts';
import { encodeParts, textOf } from '../shared/commands/textParts.ts';
import type { TextPart } from '../shared/commands/textParts.ts';
import type { UpdatesResponse } from '../shared/commands/wire.ts';
import type { LogObjectRef } from '../shared/logs/wire.ts';
import type { Unacked } from './batcher.ts';

/**
 * A log object goes in three requests: POST .../updates {updates: [], object} (the API answers `upload`, a
 * presigned PUT, without looking in S3), the PUT of the text to S3, and the same POST with `object.stored`
 * (the API checks the object's size with one HEAD and records the run; acked moves). A resend after a
 * failure once the PUT succeeded says `stored` at once, and is recorded without a second PUT; a resend
 * after a failed or unknown PUT asks for a URL again, and PUTs the same bytes under the same key (the key
 * is its command, first seq and sha256). The record's write is conditional as for every run. Memory: one
 * object's text (LOG_OBJECT_MAX_BYTES) besides the unacked updates.
 */
export interface LogObjectBatch {
  /** The unacked updates it carries, from the front of the list. */
  batch: Unacked[];
  /** Their text joined, as stored. */
  text: Buffer;
  ref: LogObjectRef;
  /** Its PUT succeeded: every request for it from then on says `stored`. */
  stored: boolean;
}

/** Bytes brotli (quality 1) compresses to estimate how a stretch of output compresses. @default 64 KiB */
const SAMPLE_BYTES = 64 * 1024;

/**
 * The log object the unacked list starts with: its leading stdio text updates, up to LOG_OBJECT_MAX_BYTES
 * and LIMITS.updatesPerBatch updates (the API refuses an object of more parts, as it does a batch), when
 * they would compress to at least LOG_OBJECT_MIN_BYTES (estimated on their first SAMPLE_BYTES).
 * Undefined otherwise: the updates go to the API as today (a text batch or JSON).
 */
export function logObjectBatch(unacked: readonly Unacked[]): LogObjectBatch | undefined {
  const batch: Unacked[] = [];
  const parts: TextPart[] = [];
  let bytes = 0;
  for (const entry of unacked) {
    const text = textOf(entry.update);
    if (text === undefined) break;
    const size = Buffer.byteLength(text.text, 'utf8');
    if (batch.length >= LIMITS.updatesPerBatch) break;
    if (batch.length > 0 && bytes + size > LOG_OBJECT_MAX_BYTES) break;
    batch.push(entry);
    parts.push({ stream: text.stream, bytes: size });
    bytes += size;
  }
  if (bytes < LOG_OBJECT_MIN_BYTES) return undefined;
  const texts: Buffer[] = [];
  let sampled = 0;
  for (const entry of batch) {
    if (sampled >= SAMPLE_BYTES) break;
    const utf8 = Buffer.from(textOf(entry.update)!.text, 'utf8');
    texts.push(utf8);
    sampled += utf8.length;
  }
  const sample = Buffer.concat(texts).subarray(0, SAMPLE_BYTES);
  const packed = Math.ceil((bytes * brotliQuick(sample).length) / sample.length);
  if (packed < LOG_OBJECT_MIN_BYTES) return undefined;
  const text = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const entry of batch) at += text.write(textOf(entry.update)!.text, at, 'utf8');
  const sha256 = createHash('sha256').update(text).digest('hex');
  return {
    batch,
    text,
    ref: { first: batch[0]!.seq, parts: encodeParts(parts), sha256, packed },
    stored: false,
  };
}

/**
 * A seam for the crash tests (test/logs/crash.test.ts), as Buildbot's `_test_timing_hook`: each step, when
 * set, runs at its point of a log object's delivery. The worker itself sets none.
 */
export const logObjectSteps: {
  beforePut?: (url: string, text: Buffer, headers: Record<string, string>) => Promise<void>;
  afterPut?: () => Promise<void>;
  afterRecord?: () => Promise<void>;
} = {};

/**
 * Records `object` with the updates API, uploading it first when the API asks. Rejects with the API's
 * errors, or TransferFailedError when the PUT failed (worth another try: a new request gets a new URL).
 */
export async function sendLogObject(
  connection: ApiConnection,
  commandId: string,
  object: LogObjectBatch,
): Promise<UpdatesResponse> {
  const path = `/v1/commands/${encodeURIComponent(commandId)}/updates`;
  const body = () => ({ updates: [], object: object.stored ? { ...object.ref, stored: true } : object.ref });
  const answer = await apiRequest<UpdatesResponse>(connection, 'POST', path, { body: body() });
  if (answer.upload === undefined) return answer;
  try {
    await logObjectSteps.beforePut?.(answer.upload.url, object.text, answer.upload.headers);
    await putObject(answer.upload.url, object.text, answer.upload.headers);
  } catch (error) {
    if (error instanceof TransferFailedError) throw error;
    throw new TransferFailedError('PUT of a log object', 0, (error as Error).message);
  }
  object.stored = true;
  await logObjectSteps.afterPut?.();
  const recorded = await apiRequest<UpdatesResponse>(connection, 'POST', path, { body: body() });
  await logObjectSteps.afterRecord?.();
  if (recorded.upload !== undefined)
    throw new TransferFailedError(
      `log object of seqs ${object.ref.first}..`,
      0,
      'S3 does not hold it whole after its PUT',
    );
  return recorded;
}
