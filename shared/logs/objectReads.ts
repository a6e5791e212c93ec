// Owns reading log objects for pages: the slice of a log object's run a page takes, fetched with one ranged GET or left to the client.
import type { StoredRun } from '../commands/runs.ts';
import { decodeParts, encodeParts } from '../commands/textParts.ts';
import type { TextStream } from '../commands/textParts.ts';
import { BuildbotError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import type { LogObjectStore } from './objects.ts';

/**
 * A page reads a log object's run as a *slice*: its updates from the first unread seq on, as many as the
 * page still has room for (one at least on a page's first), fetched with one ranged GET of their bytes. The
 * slice is a run of its own (first..last, its parts, its text), so the page takes it whole, and the next page
 * finds the same object by its next seq. A log object (up to LOG_OBJECT_MAX_BYTES) is thus read over a few
 * pages without any page holding more than its budget, and each byte is fetched once. Updates the page does
 * not want (stdout on a read of stderr) are never fetched: at the slice's ends they are skipped, and a run
 * with none that the page wants costs no GET at all.
 */
export interface ObjectSlice {
  first: number;
  last: number;
  /** Byte range of the object, end exclusive. */
  start: number;
  end: number;
  parts: string;
}

/** What a page asks of a log object's run before any byte is fetched. */
export interface SliceWish {
  /** Bytes the page still has room for. */
  room: number;
  /** Bytes each update costs the page besides its text (the JSON around it in GET .../updates). */
  perUpdate: number;
  /** Whether the page takes text of this stream (a log of stderr takes no stdout). */
  wants(stream: TextStream): boolean;
  /** The last seq the page may read (the record's acked). */
  upTo: number;
  /** The page is empty: take one update even over `room`. */
  atLeastOne: boolean;
}

/**
 * The slice of `run` (a log object's) from seq `from` that `wish` takes: `skipTo` is the last seq read
 * without fetching it (updates the page does not want, before the slice; from - 1 when none), and `slice`
 * is undefined when the page wants none of the run up to wish.upTo, or has no room for its next update.
 */
export function objectSlice(
  run: StoredRun,
  from: number,
  wish: SliceWish,
): { skipTo: number; slice?: ObjectSlice } {
  const parts = decodeParts(run.parts ?? '');
  const lastAt = Math.min(parts.length, wish.upTo - run.first + 1);
  let at = Math.max(0, from - run.first);
  let start = 0;
  for (const part of parts.slice(0, at)) start += part.bytes;
  while (at < lastAt && !wish.wants(parts[at]!.stream)) start += parts[at++]!.bytes;
  const skipTo = run.first + at - 1;
  let end = start;
  let count = 0;
  let wanted = 0;
  let wantedEnd = start;
  for (const part of parts.slice(at, lastAt)) {
    const cost = end + part.bytes - start + (count + 1) * wish.perUpdate;
    if (cost > wish.room && (count > 0 || !wish.atLeastOne)) break;
    end += part.bytes;
    count += 1;
    // Unwanted updates at the end are left to the next page, which skips them without fetching them.
    if (wish.wants(part.stream)) [wanted, wantedEnd] = [count, end];
  }
  if (wanted === 0) return { skipTo };
  const first = run.first + at;
  const slice = { first, last: first + wanted - 1, start, end: wantedEnd };
  return { skipTo, slice: { ...slice, parts: encodeParts(parts.slice(at, at + wanted)) } };
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

/**
 * What of `run` (a log object's), from seq `from` up to `upTo`, a client may read itself from S3
 * (GET .../logs/{name}/links): `slice`, the updates the page wants, and `through`, the last seq this covers
 * (updates the page does not want, after the slice or instead of one, are read with nothing to take).
 * Undefined when the page reads the run as today: when an update it does not want sits between two it wants
 * (its text would not be one byte range of the object: a stdout log over an object that also holds stderr is
 * read by the API, which leaves the stderr out), or when the run compresses (its packed size at most
 * LIMITS.incompressibleRatio of its bytes): compressible text is smaller, and as fast, through the page's
 * compressed answer.
 */
export function linkSlice(
  run: StoredRun,
  from: number,
  wants: SliceWish['wants'],
  upTo: number,
): { through: number; slice?: ObjectSlice } | undefined {
  if ((run.packed ?? run.bytes) <= LIMITS.incompressibleRatio * run.bytes) return undefined;
  const cut = objectSlice(run, from, { room: Infinity, perUpdate: 0, wants, upTo, atLeastOne: true });
  if (cut.slice !== undefined && !decodeParts(cut.slice.parts).every((part) => wants(part.stream)))
    return undefined;
  return { through: Math.min(run.last, upTo), ...(cut.slice ? { slice: cut.slice } : {}) };
}
