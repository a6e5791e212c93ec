// Owns a log object's side of POST .../updates: the updates it stands for, the check that S3 holds it whole, and its run item.
import type { SequencedUpdate } from '../commands/apiTypes.ts';
import { UpdateGapError } from '../commands/errors.ts';
import type { PlannedRun } from '../commands/runs.ts';
import { decodeParts } from '../commands/textParts.ts';
import { ValidationError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import { logObjectKey } from './objects.ts';
import type { LogObjectStore } from './objects.ts';
import type { LogObjectRef, LogObjectUpload } from './wire.ts';

/** A request's log object and where to check it: what postUpdates takes besides the updates. */
export interface LogObjectInput {
  ref: LogObjectRef;
  store: LogObjectStore;
}

/**
 * The updates a log object stands for, their text left empty: seqs first.., one per part, each with its
 * stream. They take the object's place in the batch for the gap check and the summary (stdio text changes
 * nothing on the record); only the object's run item ever stores them.
 */
export function objectOutline(ref: LogObjectRef): SequencedUpdate[] {
  const parts = decodeParts(ref.parts);
  if (parts.length > LIMITS.updatesPerBatch)
    throw new ValidationError(`object.parts: ${parts.length} parts; a batch holds ${LIMITS.updatesPerBatch}`);
  return parts.map((part, i) => [{ [part.stream]: '' }, ref.first + i]);
}

/** The object's text bytes: the sum of its parts. */
function objectBytes(ref: LogObjectRef): number {
  return decodeParts(ref.parts).reduce((sum, part) => sum + part.bytes, 0);
}

/**
 * The object's run, ready to store, once S3 holds the object whole; else the upload the worker must do
 * first (nothing is recorded). `fromSeq` is the first unacknowledged seq the object covers: a resend whose
 * object starts before it (acked moved inside the object) is an UpdateGapError, and the worker sends the
 * rest again as a new run.
 */
export async function objectRun(
  commandId: string,
  input: LogObjectInput,
  acked: number,
): Promise<{ run: PlannedRun } | { upload: LogObjectUpload }> {
  const { ref, store } = input;
  if (ref.first !== acked + 1)
    throw new UpdateGapError(
      commandId,
      acked,
      `the log object starts at seq ${ref.first}, inside the updates already stored`,
    );
  const key = logObjectKey(commandId, ref.first, ref.sha256);
  const bytes = objectBytes(ref);
  // Missing (not uploaded yet, or a PUT still under way) or not whole: record nothing, and ask for the upload.
  // The key holds the sha256, and on AWS the PUT URL is signed for it, so S3 refuses other bytes under it.
  if ((await store.size(key)) !== bytes) return { upload: await store.upload(key, ref.sha256, bytes) };
  const last = ref.first + decodeParts(ref.parts).length - 1;
  return {
    run: { first: ref.first, last, encoded: { bytes, obj: key, parts: ref.parts, packed: ref.packed } },
  };
}
