// Owns the text batch: a worker's burst of stdio output sent as raw bytes after a JSON header, and its decoding at the edge.
import { isUtf8 } from 'node:buffer';
import { ValidationError } from '../errors.ts';
import type { SequencedUpdate } from './apiTypes.ts';
import { MalformedPartsError } from './errors.ts';
import { TEXT_STREAMS, decodeParts, encodeParts, textOf } from './textParts.ts';
import type { TextPart } from './textParts.ts';

/**
 * The text batch: how a worker sends a burst of output without JSON. POST .../updates takes it as well
 * as JSON; the edge turns it back into the same request object, which the same schema then validates.
 *
 *   <header JSON> "\n" <text bytes>
 *
 * The header is the request (`{"updates": [...]}`) plus `"text": {"first": F, "parts": "o65536,e12"}`:
 * the updates with seqs F, F+1, ... are single-stream stdio updates whose UTF-8 text follows the header,
 * one part each (stream code and byte count, as text runs store them), and `updates` holds the ones after
 * them. JSON text never holds a raw newline, so the first one ends the header.
 *
 * Why: 50 MB of `yes hello` as JSON is 58 MB of escaped text that the worker serializes (~300 ms) and the
 * edge parses (~300 ms); as a text batch both sides only copy bytes.
 */
export const TEXT_BATCH_CONTENT_TYPE = 'application/vnd.bbs.text-batch';

/** Leading text at least this long goes as a text batch; shorter bodies stay readable JSON. @default 8 KiB */
export const TEXT_BATCH_MIN_BYTES = 8 * 1024;

const NEWLINE = 0x0a;

/** The body of a text batch, or undefined when the updates do not start with enough stdio text. */
export function encodeTextBatch(updates: SequencedUpdate[]): Buffer | undefined {
  const parts: TextPart[] = [];
  const texts: Buffer[] = [];
  let bytes = 0;
  for (const [update] of updates) {
    const text = textOf(update);
    if (text === undefined) break;
    const utf8 = Buffer.from(text.text, 'utf8');
    parts.push({ stream: text.stream, bytes: utf8.length });
    texts.push(utf8);
    bytes += utf8.length;
  }
  if (bytes < TEXT_BATCH_MIN_BYTES) return undefined;
  const header = JSON.stringify({
    updates: updates.slice(parts.length),
    text: { first: updates[0]![1], parts: encodeParts(parts) },
  });
  return Buffer.concat([Buffer.from(`${header}\n`, 'utf8'), ...texts]);
}

function refuse(message: string): never {
  throw new ValidationError(`text batch: ${message}`);
}

/**
 * The request a text batch carries, as the equivalent JSON request (the route's schema validates it).
 * Refuses, with what to fix, a header that is not JSON, parts that do not add up to the bytes that
 * follow, and text that is not UTF-8.
 */
export function decodeTextBatch(body: Buffer): unknown {
  const end = body.indexOf(NEWLINE);
  if (end < 0) refuse('no newline ends the JSON header');
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, end).toString('utf8'));
  } catch (error) {
    refuse(`the header is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    refuse('the header must be a JSON object');
  const { text, ...request } = header as Record<string, unknown>;
  if (typeof text !== 'object' || text === null)
    refuse('the header lacks "text": {"first": SEQ, "parts": "o<bytes>,e<bytes>,..."}');
  const { first, parts } = text as Record<string, unknown>;
  if (!Number.isInteger(first) || (first as number) < 0)
    refuse('"text.first" must be a seq (an integer ≥ 0)');
  if (typeof parts !== 'string' || parts === '') refuse('"text.parts" must be a non-empty string');
  let decoded: TextPart[];
  try {
    decoded = decodeParts(parts);
  } catch (error) {
    if (!(error instanceof MalformedPartsError)) throw error;
    refuse(
      `"text.parts": ${error.message}; each part is a stream code (${TEXT_STREAMS.map((s) => s[0]).join(', ')}) and a byte count`,
    );
  }
  if (request.updates !== undefined && !Array.isArray(request.updates))
    refuse('"updates" must be an array of [update, seq]');
  const following = (request.updates as unknown[] | undefined) ?? [];
  const updates: unknown[] = [];
  let at = end + 1;
  for (const [i, part] of decoded.entries()) {
    if (at + part.bytes > body.length)
      refuse(`the parts add up to more than the ${body.length - end - 1} bytes that follow the header`);
    const utf8 = body.subarray(at, at + part.bytes);
    if (!isUtf8(utf8)) refuse(`part ${i} (seq ${(first as number) + i}) is not valid UTF-8`);
    updates.push([{ [part.stream]: utf8.toString('utf8') }, (first as number) + i]);
    at += part.bytes;
  }
  if (at !== body.length)
    refuse(`${body.length - at} bytes follow the last part; the parts must account for every byte`);
  return { ...request, updates: [...updates, ...following] };
}

/** Whether a Content-Type names a text batch. */
export function isTextBatch(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === TEXT_BATCH_CONTENT_TYPE;
}
