// The log object tests' moves: barely compressible text, and a log object's ref and bytes as a worker makes them.
import { createHash, randomBytes } from 'node:crypto';
import { encodeParts } from '../../shared/commands/textParts.ts';
import type { TextStream } from '../../shared/commands/textParts.ts';
import { artifactsContextFromEnv } from '../../shared/artifacts/context.ts';
import { logObjectStore } from '../../shared/logs/objects.ts';
import type { LogObjectStore } from '../../shared/logs/objects.ts';
import type { LogObjectRef } from '../../shared/logs/wire.ts';

/** Random base64 text of `bytes` characters: barely compressible. */
export function randomText(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4))
    .toString('base64')
    .slice(0, bytes);
}

/** One update's text in a log object: stdout, or the stream named. */
export type Piece = string | [TextStream, string];

/**
 * `pieces` (seqs first..) as one log object: its ref and its bytes. `packedRatio` is the worker's estimate
 * of how it compresses (random base64: about 0.76).
 */
export function objectOf(
  first: number,
  pieces: Piece[],
  packedRatio = 0.76,
): { ref: LogObjectRef; text: Buffer } {
  const parts = pieces.map((piece): [TextStream, string] =>
    typeof piece === 'string' ? ['stdout', piece] : piece,
  );
  const text = Buffer.from(parts.map(([, piece]) => piece).join(''), 'utf8');
  const ref = {
    first,
    parts: encodeParts(parts.map(([stream, piece]) => ({ stream, bytes: Buffer.byteLength(piece) }))),
    sha256: createHash('sha256').update(text).digest('hex'),
    packed: Math.ceil(text.length * packedRatio),
  };
  return { ref, text };
}

/**
 * The stack's log object store, counting its calls and the bytes its GETs fetch (its HEADs, URLs and ranged GETs
 * are presigned fetches, which no SDK client counts).
 */
export function countingStore(env: Record<string, string | undefined>): {
  store: LogObjectStore;
  heads: number;
  uploads: number;
  gets: number;
  got: number;
} {
  const real = logObjectStore(artifactsContextFromEnv(env));
  const counted = { heads: 0, uploads: 0, gets: 0, got: 0 };
  const store: LogObjectStore = {
    size: (key) => (counted.heads++, real.size(key)),
    upload: (key, sha256, bytes) => (counted.uploads++, real.upload(key, sha256, bytes)),
    read: async (key, start, end) => {
      counted.gets++;
      counted.got += end - start;
      return real.read(key, start, end);
    },
    link: (key) => real.link(key),
  };
  return Object.assign(counted, { store });
}
