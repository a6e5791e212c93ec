// Owns stored runs of updates: cutting a batch into runs that fit one item, encoding them (fragments, text runs, brotli), and decoding them.
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { itemDecoder } from '../aws/conditionalWrite.ts';
import { BuildbotError, PayloadTooLargeError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import type { SequencedUpdate } from './apiTypes.ts';
import { decodeParts, encodeParts, textOf } from './textParts.ts';
import type { TextPart, TextStream } from './textParts.ts';

/**
 * Fragment bytes above which a stored run is compressed into a Binary attribute. DynamoDB bills a write per KB,
 * so a run just over 1 KB (a shell command's headers) costs 1 WRU compressed instead of 2-3. @default 1 KiB
 */
export const COMPRESS_AT_REST_BYTES = 1024;

/**
 * Text of consecutive stdio updates at least this long is stored as a text run; shorter stretches (a
 * short command's headers) stay in the fragment of their batch, one item. @default 64 KiB
 */
export const TEXT_RUN_MIN_BYTES = 64 * 1024;

/**
 * A text run whose text compresses to at least this many bytes is a *log object*: its text is an S3 object
 * under logs/ (shared/logs/objects.ts), which the worker uploads itself, and its item holds only the key and
 * the parts. The worker decides, estimating the compressed size with brotli on a 64 KiB sample.
 *
 * Where S3 is cheaper, at us-east-1 prices (bench/lib/prices.ts), for text that does not compress:
 *   DynamoDB: 1 WRU per KB stored ($0.625 per million WRU), storage $0.25 per GB-month (+ $0.20 with PITR).
 *   S3: one PUT ($0.005 per 1,000 = 8 WRU), the API's one HEAD of its size before it records the run
 *   ($0.0004 per 1,000 = 0.64 WRU; the first request, before the PUT, signs the URL without one), and the
 *   extra updates request that answers the PUT's URL (HTTP API $1 and Lambda $0.20 per million, ~10 ms at
 *   1 GB, and its GetItem of the record, 0.5 RRU: about 2 WRU): about 11 WRU, the price of 11 KB in
 *   DynamoDB. Storage at $0.023 per GB-month is a tenth of DynamoDB's, so it only moves the break-even
 *   lower. A read pays one GET ($0.0004 per 1,000) per page slice, and a page takes up to
 *   LIMITS.pageStoredBytes of an object: one GET for a small object, about 3 for an 8 MiB one, where
 *   DynamoDB would bill 0.5 RRU per 4 KB: even at 26 KB a slice.
 * So S3 wins above about 11 KB written and 26 KB read; at 32 KiB a run in S3 costs about a third of its WRUs,
 * and small bursts (a few lines a poll) stay single items that one read returns together. Measured with
 * `npm run bench -- bill` (docs/performance.md). @default 32 KiB
 */
export const LOG_OBJECT_MIN_BYTES = 32 * 1024;

/**
 * Text bytes of one log object: one single PUT (the local emulator refuses bodies over 11 MiB), the worker's
 * memory for it, and 50 MB of random text in 7 objects (three requests each: the POST answered the PUT's
 * URL, the PUT, the POST that records it). A read takes it over a few
 * pages, as slices (shared/logs/objectReads.ts). @default 8 MiB
 */
export const LOG_OBJECT_MAX_BYTES = 8 * 1024 * 1024;

/**
 * A run is stored as its *fragment*: the JSON text `[update,seq],[update,seq],...`, exactly the inside of
 * the `updates` array of POST .../updates and GET .../updates. A reader joins whole fragments into a page
 * without parsing them, and a fresh batch's fragment can be cut out of the request text without
 * serializing it again. Fragments over COMPRESS_AT_REST_BYTES are stored brotli-compressed (quality 1:
 * 50 MB of `yes hello` in about 20 ms to about 20 KB, and random text at about 170 MB/s, where gzip took
 * 2.4 s for the same 50 MB).
 *
 * A long stretch of stdio text (stdout, stderr, header updates: a command's output) is stored as a *text
 * run* instead: the text itself, brotli-compressed, and where each update's text ends. A log read then
 * serves the stored bytes as they are, with no JSON to escape, parse or unescape on either side; only
 * GET .../updates builds the JSON of such a run.
 */

/**
 * How a run is stored: its fragment as text when small, as brotli bytes when large; or a text run (brotli
 * of the updates' text joined, and `parts`, see TextPart). `bytes` is the fragment's or the text's UTF-8 size.
 */
export type EncodedRun = { bytes: number } & (
  | { frag: string; fragBr?: never; textBr?: never; parts?: never; obj?: never }
  | { fragBr: Uint8Array; frag?: never; textBr?: never; parts?: never; obj?: never }
  | { textBr: Uint8Array; parts: string; frag?: never; fragBr?: never; obj?: never }
  | { obj: string; parts: string; packed: number; frag?: never; fragBr?: never; textBr?: never }
);

/** A run ready to store: seqs first..last and their encoded fragment. */
export interface PlannedRun {
  first: number;
  last: number;
  encoded: EncodedRun;
}

function brotli(data: Buffer): Buffer {
  return brotliCompressSync(data, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length },
  });
}

/** Whether a run fits one item once encoded; `packedBytes` tells by how much one that does not is over. */
type EncodeOutcome = { fits: true; encoded: EncodedRun } | { fits: false; packedBytes: number };

/** Encodes one fragment. */
export function encodeFragment(fragment: Buffer): EncodeOutcome {
  if (fragment.length <= COMPRESS_AT_REST_BYTES)
    return { fits: true, encoded: { bytes: fragment.length, frag: fragment.toString('utf8') } };
  const packed = brotli(fragment);
  if (packed.length > LIMITS.itemPayloadBytes || fragment.length > LIMITS.itemRawBytes)
    return { fits: false, packedBytes: packed.length };
  return {
    fits: true,
    encoded: {
      bytes: fragment.length,
      fragBr: new Uint8Array(packed.buffer, packed.byteOffset, packed.length),
    },
  };
}

/** Encodes one text run: the texts joined, brotli-compressed, and the parts that cut them apart again. */
function encodeText(texts: Buffer[], updates: SequencedUpdate[]): EncodeOutcome {
  const joined = Buffer.concat(texts);
  const parts = encodeParts(
    updates.map(([update], i) => ({ stream: textOf(update)!.stream, bytes: texts[i]!.length })),
  );
  const packed = brotli(joined);
  const packedBytes = packed.length + parts.length;
  if (packedBytes > LIMITS.itemPayloadBytes || joined.length > LIMITS.itemRawBytes)
    return { fits: false, packedBytes };
  return {
    fits: true,
    encoded: {
      bytes: joined.length,
      textBr: new Uint8Array(packed.buffer, packed.byteOffset, packed.length),
      parts,
    },
  };
}

/**
 * Cuts consecutive updates into runs that each fit one item, by compressed size (one update never splits).
 * The first attempt takes as much as the raw limit allows; a run that compresses past the item limit
 * teaches the ratio, and the next attempts aim at LIMITS.itemTargetBytes with it. `pieces` are the updates'
 * encoded bytes, `separator` the bytes joining two of them. Throws PayloadTooLargeError (before anything
 * is stored) when one update alone does not fit.
 */
function planGreedy(
  updates: SequencedUpdate[],
  pieces: Buffer[],
  separator: number,
  encode: (pieces: Buffer[], updates: SequencedUpdate[]) => EncodeOutcome,
): PlannedRun[] {
  const runs: PlannedRun[] = [];
  let rawLimit = LIMITS.itemRawBytes;
  let at = 0;
  while (at < pieces.length) {
    let end = at + 1;
    let raw = pieces[at]!.length;
    while (end < pieces.length && raw + separator + pieces[end]!.length <= rawLimit)
      raw += separator + pieces[end++]!.length;
    const outcome = encode(pieces.slice(at, end), updates.slice(at, end));
    if (!outcome.fits) {
      if (end - at === 1)
        throw new PayloadTooLargeError(
          `update seq ${updates[at]![1]} is ${raw} bytes (${outcome.packedBytes} compressed) and does not fit one ` +
            `stored item (${LIMITS.itemPayloadBytes} bytes compressed, ${LIMITS.itemRawBytes} decompressed); send its text in smaller updates`,
          { details: { limit: LIMITS.itemPayloadBytes, seq: updates[at]![1] } },
        );
      // Learn the ratio from what did not fit and aim at the target: the new limit is below this run's size.
      rawLimit = Math.min(
        rawLimit,
        Math.floor((raw * LIMITS.itemTargetBytes) / Math.max(outcome.packedBytes, raw)),
      );
      continue;
    }
    runs.push({ first: updates[at]![1], last: updates[end - 1]![1], encoded: outcome.encoded });
    at = end;
  }
  return runs;
}

/** A stretch of a batch: stdio text long enough for text runs, or anything else (stored as fragments). */
interface Segment {
  text: boolean;
  updates: SequencedUpdate[];
}

/** Cuts a batch into stretches of at least TEXT_RUN_MIN_BYTES of stdio text, and the rest between them. */
function segmentsOf(updates: SequencedUpdate[]): Segment[] {
  const segments: Segment[] = [];
  let at = 0;
  while (at < updates.length) {
    let end = at;
    let chars = 0;
    while (end < updates.length) {
      const text = textOf(updates[end]![0]);
      if (text === undefined) break;
      chars += text.text.length;
      end += 1;
    }
    // Characters never outnumber UTF-8 bytes, so this length is a lower bound of the bytes.
    if (chars >= TEXT_RUN_MIN_BYTES) {
      segments.push({ text: true, updates: updates.slice(at, end) });
      at = end;
      continue;
    }
    const stop = Math.max(end, at + 1);
    const last = segments[segments.length - 1];
    if (last !== undefined && !last.text) last.updates.push(...updates.slice(at, stop));
    else segments.push({ text: false, updates: updates.slice(at, stop) });
    at = stop;
  }
  return segments;
}

/**
 * Cuts consecutive updates into runs that each fit one item: text runs for long stretches of stdio
 * text, fragment runs for the rest, in seq order.
 */
export function planRuns(updates: SequencedUpdate[]): PlannedRun[] {
  const runs: PlannedRun[] = [];
  for (const segment of segmentsOf(updates)) {
    if (segment.text) {
      const texts = segment.updates.map(([update]) => Buffer.from(textOf(update)!.text, 'utf8'));
      runs.push(...planGreedy(segment.updates, texts, 0, encodeText));
    } else {
      const parts = segment.updates.map((update) => Buffer.from(JSON.stringify(update)));
      runs.push(...planGreedy(segment.updates, parts, 1, (pieces) => encodeFragment(joinFragments(pieces))));
    }
  }
  return runs;
}

/** Whether a batch would be stored as fragments only (then its request text can be stored as sent). */
export function isFragmentBatch(updates: SequencedUpdate[]): boolean {
  return segmentsOf(updates).every((segment) => !segment.text);
}

/**
 * The run brotli-compressed whatever its size, when that makes it smaller: for a run stored inside another
 * item, where every byte counts towards that item's KB (a shell command's ~800 B of headers to ~450 B).
 */
export function compactRun(run: PlannedRun): PlannedRun {
  if (run.encoded.frag === undefined) return run;
  const packed = brotli(Buffer.from(run.encoded.frag, 'utf8'));
  if (packed.length >= run.encoded.bytes) return run;
  return {
    ...run,
    encoded: {
      bytes: run.encoded.bytes,
      fragBr: new Uint8Array(packed.buffer, packed.byteOffset, packed.length),
    },
  };
}

const COMMA = Buffer.from(',');

/** `a,b,c` of JSON fragments (or of whole `[update,seq]` texts). */
export function joinFragments(parts: Buffer[]): Buffer {
  if (parts.length === 1) return parts[0]!;
  const pieces: Buffer[] = [];
  for (const part of parts) {
    if (pieces.length > 0) pieces.push(COMMA);
    pieces.push(part);
  }
  return Buffer.concat(pieces);
}

/**
 * The fragment of a request body, when it can be stored as sent: the body must read exactly
 * `{"updates":[` FRAGMENT `]}` with the key `"updates"` nowhere else. That sequence cannot occur inside
 * a JSON string (its closing quote would be escaped), so the only other place it could be is a nested key
 * or a duplicate top-level key; then the caller serializes the parsed updates instead. The body has
 * already been parsed and validated, so the fragment is the exact text of the validated updates.
 */
export function fragmentOfBody(bodyText: string, key = 'updates'): string | undefined {
  const prefix = `{"${key}":[`;
  if (!bodyText.startsWith(prefix) || !bodyText.endsWith(']}')) return undefined;
  if (bodyText.indexOf(`"${key}"`, 2) !== -1) return undefined;
  return bodyText.slice(prefix.length, -2);
}

/** What a stored run item holds: a fragment (text or brotli bytes) or a text run. */
export interface StoredRun {
  first: number;
  last: number;
  /** The UTF-8 size of the fragment, or of the text for a text run. */
  bytes: number;
  frag?: string;
  fragBr?: Uint8Array;
  /** A text run: the updates' text joined, brotli-compressed, and where each ends (encodeParts). */
  textBr?: Uint8Array;
  parts?: string;
  /** A log object: the S3 key of the run's text (raw), and the bytes the worker estimated it compresses to. */
  obj?: string;
  packed?: number;
  /** A log object's text once a read fetched it from S3 (never stored in the item). */
  text?: Buffer;
}

/** Checks and types a stored run (an update run item, or the record's final run). */
export const asStoredRun = itemDecoder<Omit<StoredRun, 'text'>>('stored update run', {
  first: 'number',
  last: 'number',
  bytes: 'number',
  frag: 'string?',
  fragBr: 'binary?',
  textBr: 'binary?',
  parts: 'string?',
  obj: 'string?',
  packed: 'number?',
});

/** The fragment text of a stored run, as bytes. */
export function runFragment(run: StoredRun): Buffer {
  if (run.fragBr !== undefined) return brotliDecompressSync(run.fragBr);
  if (run.frag !== undefined) return Buffer.from(run.frag, 'utf8');
  return joinFragments(decodeRun(run).map((update) => Buffer.from(JSON.stringify(update))));
}

/** Bytes this run costs at rest (its payload attributes), for page budgets. */
export function storedSize(run: StoredRun): number {
  if (run.obj !== undefined) return run.bytes;
  if (run.textBr !== undefined) return run.textBr.length + (run.parts?.length ?? 0);
  return run.fragBr?.length ?? Buffer.byteLength(run.frag ?? '');
}

/** Whether the run is stored compressed (pages of barely compressible runs go uncompressed). */
export function isPacked(run: StoredRun): boolean {
  return run.fragBr !== undefined || run.textBr !== undefined;
}

/** Bytes the run compresses to: stored, or for a log object as the worker estimated (for pages' compression). */
export function packedSize(run: StoredRun): number {
  return run.obj !== undefined ? (run.packed ?? run.bytes) : storedSize(run);
}

/** A text run's updates as stream and UTF-8 bytes, each with its seq; undefined for other runs. */
export function textRunParts(
  run: StoredRun,
): { stream: TextStream; text: Buffer; seq: number }[] | undefined {
  if (run.parts === undefined) return undefined;
  if (run.obj !== undefined && run.text === undefined)
    throw new BuildbotError(`log object ${run.obj} (updates ${run.first}..${run.last}) was not read`);
  if (run.text === undefined && run.textBr === undefined) return undefined;
  const joined = run.text ?? brotliDecompressSync(run.textBr!);
  let at = 0;
  const parts = decodeParts(run.parts).map((part, i) => {
    const text = joined.subarray(at, at + part.bytes);
    at += part.bytes;
    return { stream: part.stream, text, seq: run.first + i };
  });
  if (at !== joined.length)
    throw new BuildbotError(
      `stored text run ${run.first}..${run.last} holds ${joined.length} bytes but its parts name ${at}`,
    );
  return parts;
}

/**
 * The updates of a stored run with a log object's text left empty (each update keeps its stream and seq):
 * what a batch summary needs (stdio text changes nothing on the record), without reading the object.
 */
export function runOutline(run: StoredRun): SequencedUpdate[] {
  if (run.obj === undefined || run.parts === undefined) return decodeRun(run);
  return outline(run.first, decodeParts(run.parts));
}

/** The updates of seqs first.. that `parts` stand for, each with its stream and its text left empty. */
export function outline(first: number, parts: readonly TextPart[]): SequencedUpdate[] {
  return parts.map((part, i) => [{ [part.stream]: '' }, first + i]);
}

/** The updates of a stored run, each with its seq. */
export function decodeRun(run: StoredRun): SequencedUpdate[] {
  const texts = textRunParts(run);
  if (texts !== undefined)
    return texts.map(({ stream, text, seq }) => [{ [stream]: text.toString('utf8') }, seq]);
  if (run.fragBr === undefined && run.frag === undefined)
    throw new BuildbotError(`stored run ${run.first}..${run.last} holds neither a fragment nor a text run`);
  return JSON.parse(`[${runFragment(run).toString('utf8')}]`) as SequencedUpdate[];
}
