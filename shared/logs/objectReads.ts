// Owns reading log objects for pages: the slice of a log object's run a page takes, fetched from S3 with one ranged GET.
import type { StoredRun } from '../commands/runs.ts';
import { decodeParts, encodeParts } from '../commands/textParts.ts';
import { BuildbotError } from '../errors.ts';
import type { LogObjectStore } from './objects.ts';

/**
 * A page reads a log object's run as a *slice*: its updates from the first unread seq on, as many as the
 * page's stored-bytes budget holds (one at least), fetched with one ranged GET of their bytes. The slice is a
 * run of its own (first..last, its parts, its text), so the page takes it whole, and the next page finds the
 * same object by its next seq. A log object (up to LOG_OBJECT_MAX_BYTES) is thus read over a few pages
 * without any page holding more than its budget, and each byte is fetched once.
 */
export interface ObjectSlice {
  first: number;
  last: number;
  /** Byte range of the object, end exclusive. */
  start: number;
  end: number;
  parts: string;
}

/** The slice of `run` (a log object's) from seq `from` that `budget` bytes hold; one update at least. */
export function objectSlice(run: StoredRun, from: number, budget: number): ObjectSlice {
  const parts = decodeParts(run.parts ?? '');
  const skip = Math.max(0, from - run.first);
  let start = 0;
  for (const part of parts.slice(0, skip)) start += part.bytes;
  let end = start;
  let count = 0;
  for (const part of parts.slice(skip)) {
    if (count > 0 && end + part.bytes - start > budget) break;
    end += part.bytes;
    count += 1;
  }
  return {
    first: run.first + skip,
    last: run.first + skip + count - 1,
    start,
    end,
    parts: encodeParts(parts.slice(skip, skip + count)),
  };
}

/** The slice as a run with its text, read from S3 (no request for a slice of empty updates). */
export async function readObjectSlice(
  objects: LogObjectStore | undefined,
  run: StoredRun,
  slice: ObjectSlice,
): Promise<StoredRun> {
  if (!objects || run.obj === undefined)
    throw new BuildbotError(`updates ${run.first}..${run.last} are in S3, and this read has no bucket`);
  const bytes = slice.end - slice.start;
  const text = bytes === 0 ? Buffer.alloc(0) : await objects.read(run.obj, slice.start, slice.end);
  return {
    first: slice.first,
    last: slice.last,
    bytes,
    parts: slice.parts,
    obj: run.obj,
    packed: Math.ceil(((run.packed ?? run.bytes) * bytes) / Math.max(run.bytes, 1)),
    text,
  };
}
