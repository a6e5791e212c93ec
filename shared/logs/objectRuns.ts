// Owns a log object's side of POST .../updates: its parts decoded once, the check that S3 holds it whole, and its run item.
import type { SequencedUpdate } from '../commands/apiTypes.ts';
import { UpdateGapError } from '../commands/errors.ts';
import { outline } from '../commands/runs.ts';
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

/** A request's log object with its parts decoded (once): their text bytes, and the updates they stand for. */
export interface LogObject extends LogObjectInput {
  bytes: number;
  /**
   * The updates the object stands for, their text left empty: seqs first.., one per part, each with its
   * stream. They take the object's place in the batch for the gap check and the summary (stdio text changes
   * nothing on the record); only the object's run item ever stores them.
   */
  outline: SequencedUpdate[];
}

/** Decodes the object's parts; a ValidationError when they are more than a batch holds. */
export function decodeObject(input: LogObjectInput): LogObject {
  const parts = decodeParts(input.ref.parts);
  if (parts.length > LIMITS.updatesPerBatch)
    throw new ValidationError(`object.parts: ${parts.length} parts; a batch holds ${LIMITS.updatesPerBatch}`);
  const bytes = parts.reduce((sum, part) => sum + part.bytes, 0);
  return { ...input, bytes, outline: outline(input.ref.first, parts) };
}

/**
 * The object's run, ready to store, once S3 holds the object whole; else the upload the worker must do
 * first (nothing is recorded). Only a request that says the worker has PUT the object (`stored`) costs a
 * HEAD: before its PUT the object is never there, so the first request is answered its URL at once. A
 * resend that is not sure it PUT (its answer lost) costs at most one more PUT of the same bytes under the
 * same key. The object must start at `acked` + 1: a resend whose object starts before it (acked moved
 * inside the object) is an UpdateGapError, and the worker sends the rest again as a new run.
 */
export async function objectRun(
  commandId: string,
  object: LogObject,
  acked: number,
): Promise<{ run: PlannedRun } | { upload: LogObjectUpload }> {
  const { ref, store, bytes } = object;
  if (ref.first !== acked + 1)
    throw new UpdateGapError(
      commandId,
      acked,
      `the log object starts at seq ${ref.first}, inside the updates already stored`,
    );
  const key = logObjectKey(commandId, ref.first, ref.sha256);
  // Not PUT yet, missing (a PUT still under way) or not whole: record nothing, and ask for the upload.
  // The key holds the sha256, and on AWS the PUT URL is signed for it, so S3 refuses other bytes under it.
  if (ref.stored !== true || (await store.size(key)) !== bytes)
    return { upload: await store.upload(key, ref.sha256, bytes) };
  const last = ref.first + object.outline.length - 1;
  return {
    run: { first: ref.first, last, encoded: { bytes, obj: key, parts: ref.parts, packed: ref.packed } },
  };
}
