import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync } from 'node:zlib';
import { BuildbotError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import { MalformedPartsError } from './errors.ts';
import type { CommandUpdate } from './wire.ts';

/**
 * Pure update handling: ordering checks, trimming a resent prefix, cutting a batch into runs that fit
 * DynamoDB's 400 KB item limit, compression at rest, and the text of logs.
 *
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
export type SequencedUpdate = [CommandUpdate, number];

/**
 * Fragment bytes above which a stored run is compressed into a Binary attribute. DynamoDB bills a write per KB,
 * so a run just over 1 KB (a shell command's headers) costs 1 WRU compressed instead of 2-3. @default 1 KiB
 */
export const COMPRESS_AT_REST_BYTES = 1024;
/** Compressed bytes a stored run aims at when a batch must be cut. @default 300 KB */
export const ITEM_TARGET_BYTES = 300 * 1000;
/** Largest stored payload of one item (DynamoDB allows 400 KB including keys). @default 380 KB */
export const ITEM_PAYLOAD_MAX_BYTES = 380 * 1000;
/** Largest fragment of one run, decompressed: what one read of one item may cost in memory. @default 16 MiB */
export const ITEM_RAW_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Largest body of a worker's request (updates, complete) after decompression. Bodies stay bounded on the
 * wire by UPDATES_WIRE_MAX_BYTES, so this bounds only the work and memory of one request. @default 16 MiB
 */
export const UPDATES_BODY_MAX_BYTES = 16 * 1024 * 1024;
/**
 * Largest compressed body a worker sends: a Lambda takes 6 MB of event, and a binary body arrives base64
 * (4/3 larger) in it. @default 3 MiB
 */
export const UPDATES_WIRE_MAX_BYTES = 3 * 1024 * 1024;

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
 * How a run is stored: its fragment as text when small, as brotli bytes when large; or a text run (brotli
 * of the updates' text joined, and `parts`, see TextPart). `bytes` is the fragment's or the text's UTF-8 size.
 */
export type EncodedRun = { bytes: number } & (
  | { frag: string; fragBr?: never; textBr?: never; parts?: never }
  | { fragBr: Uint8Array; frag?: never; textBr?: never; parts?: never }
  | { textBr: Uint8Array; parts: string; frag?: never; fragBr?: never }
);

/** The streams of Buildbot's stdio log: the updates a text run holds. */
export const TEXT_STREAMS = ['stdout', 'stderr', 'header'] as const;
export type TextStream = (typeof TEXT_STREAMS)[number];

/**
 * Text of consecutive stdio updates at least this long is stored as a text run; shorter stretches (a
 * short command's headers) stay in the fragment of their batch, one item. @default 64 KiB
 */
export const TEXT_RUN_MIN_BYTES = 64 * 1024;

/** The stream and text of a single-stream stdio update (`{stdout: "..."}`), else undefined. */
export function textOf(update: CommandUpdate): { stream: TextStream; text: string } | undefined {
  let found: { stream: TextStream; text: string } | undefined;
  for (const key in update) {
    if (found !== undefined || !(TEXT_STREAMS as readonly string[]).includes(key)) return undefined;
    const text = update[key as TextStream];
    if (typeof text !== 'string') return undefined;
    found = { stream: key as TextStream, text };
  }
  return found;
}

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
  if (packed.length > ITEM_PAYLOAD_MAX_BYTES || fragment.length > ITEM_RAW_MAX_BYTES)
    return { fits: false, packedBytes: packed.length };
  return {
    fits: true,
    encoded: {
      bytes: fragment.length,
      fragBr: new Uint8Array(packed.buffer, packed.byteOffset, packed.length),
    },
  };
}

/** One update's place in a text run: its stream and the UTF-8 bytes of its text. */
export interface TextPart {
  stream: TextStream;
  bytes: number;
}

const STREAM_CODES: Record<TextStream, string> = { stdout: 'o', stderr: 'e', header: 'h' };
const CODE_STREAMS: Record<string, TextStream> = { o: 'stdout', e: 'stderr', h: 'header' };

/** `parts` as stored: one `<stream code><bytes>` per update in seq order, e.g. "h812,o65536,e12". */
export function encodeParts(parts: TextPart[]): string {
  return parts.map((part) => `${STREAM_CODES[part.stream]}${part.bytes}`).join(',');
}

export function decodeParts(parts: string): TextPart[] {
  return parts.split(',').map((entry) => {
    const stream = CODE_STREAMS[entry[0] ?? ''];
    const bytes = Number(entry.slice(1));
    if (stream === undefined || entry.length < 2 || !Number.isInteger(bytes) || bytes < 0)
      throw new MalformedPartsError(entry);
    return { stream, bytes };
  });
}

/** Encodes one text run: the texts joined, brotli-compressed, and the parts that cut them apart again. */
function encodeText(texts: Buffer[], updates: SequencedUpdate[]): EncodeOutcome {
  const joined = Buffer.concat(texts);
  const parts = encodeParts(
    updates.map(([update], i) => ({ stream: textOf(update)!.stream, bytes: texts[i]!.length })),
  );
  const packed = brotli(joined);
  const packedBytes = packed.length + parts.length;
  if (packedBytes > ITEM_PAYLOAD_MAX_BYTES || joined.length > ITEM_RAW_MAX_BYTES)
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
 * teaches the ratio, and the next attempts aim at ITEM_TARGET_BYTES with it. `pieces` are the updates'
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
  let rawLimit = ITEM_RAW_MAX_BYTES;
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
            `stored item (${ITEM_PAYLOAD_MAX_BYTES} bytes compressed, ${ITEM_RAW_MAX_BYTES} decompressed); send its text in smaller updates`,
          { details: { limit: ITEM_PAYLOAD_MAX_BYTES, seq: updates[at]![1] } },
        );
      // Learn the ratio from what did not fit and aim at the target: the new limit is below this run's size.
      rawLimit = Math.min(
        rawLimit,
        Math.floor((raw * ITEM_TARGET_BYTES) / Math.max(outcome.packedBytes, raw)),
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

/** What a stored run item holds, in either encoding this code has written. */
export interface StoredRun {
  first: number;
  last: number;
  /** The fragment, as text or brotli bytes, and its UTF-8 size (of the text, for a text run). */
  frag?: string;
  fragBr?: Uint8Array;
  bytes?: number;
  /** A text run: the updates' text joined, brotli-compressed, and where each ends (encodeParts). */
  textBr?: Uint8Array;
  parts?: string;
  /** Items written before fragments: a JSON array of the updates alone, as text or gzip. */
  json?: string;
  gz?: Uint8Array;
}

/** The fragment text of a stored run, as bytes. */
export function runFragment(run: StoredRun): Buffer {
  if (run.fragBr !== undefined) return brotliDecompressSync(run.fragBr);
  if (run.frag !== undefined) return Buffer.from(run.frag, 'utf8');
  return joinFragments(decodeRun(run).map((update) => Buffer.from(JSON.stringify(update))));
}

/** Bytes this run costs at rest (its payload attributes), for page budgets. */
export function storedSize(run: StoredRun): number {
  if (run.textBr !== undefined) return run.textBr.length + (run.parts?.length ?? 0);
  return run.fragBr?.length ?? run.gz?.length ?? Buffer.byteLength(run.frag ?? run.json ?? '');
}

/** Whether the run is stored compressed (pages of barely compressible runs go uncompressed). */
export function isPacked(run: StoredRun): boolean {
  return run.fragBr !== undefined || run.gz !== undefined || run.textBr !== undefined;
}

/** A text run's updates as stream and UTF-8 bytes, each with its seq; undefined for other runs. */
export function textRunParts(
  run: StoredRun,
): { stream: TextStream; text: Buffer; seq: number }[] | undefined {
  if (run.textBr === undefined || run.parts === undefined) return undefined;
  const joined = brotliDecompressSync(run.textBr);
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

/** Its decompressed size: known for fragment runs, estimated for older ones. */
export function rawSize(run: StoredRun): number {
  return run.bytes ?? (run.json !== undefined ? Buffer.byteLength(run.json) : ITEM_RAW_MAX_BYTES);
}

/** The updates of a stored run, each with its seq. */
export function decodeRun(run: StoredRun): SequencedUpdate[] {
  const texts = textRunParts(run);
  if (texts !== undefined)
    return texts.map(({ stream, text, seq }) => [{ [stream]: text.toString('utf8') }, seq]);
  if (run.fragBr !== undefined || run.frag !== undefined)
    return JSON.parse(`[${runFragment(run).toString('utf8')}]`) as SequencedUpdate[];
  const json = run.gz ? gunzipSync(run.gz).toString('utf8') : (run.json ?? '[]');
  const updates = JSON.parse(json) as CommandUpdate[];
  return updates.map((update, i) => [update, run.first + i]);
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

/**
 * Logs every command has: stdio, and each of its output streams alone (`stdout` is the command's output
 * byte for byte, without the headers). The shell command refuses a logfile of one of these names.
 */
export const STREAM_LOGS = [STDIO_LOG, 'stdout', 'stderr'] as const;

/** Whether a text run's part of `stream` belongs to log `name`. */
export function streamInLog(stream: TextStream, name: string): boolean {
  return name === STDIO_LOG || name === stream;
}

/** The text a run of updates adds to log `name`. */
export function logText(updates: SequencedUpdate[], name: string): string {
  let text = '';
  for (const [update] of updates) {
    if (name === STDIO_LOG) {
      if (update.header !== undefined) text += update.header;
      if (update.stdout !== undefined) text += update.stdout;
      if (update.stderr !== undefined) text += update.stderr;
    } else if (name === 'stdout' || name === 'stderr') {
      text += update[name] ?? '';
    } else if (update.log && update.log[0] === name) {
      text += update.log[1];
    }
  }
  return text;
}
