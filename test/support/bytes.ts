// Bytes in the tests: a buffer as a one-chunk stream for the upload calls, its sha256, and a sink that keeps what it is given.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';

/** The sha256 of `bytes`, in hex, as the API records an artifact's. */
export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** `bytes` as the async iterable uploadBlob and uploadArtifact read: one chunk. */
export async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** A Writable that keeps every chunk; `bytes()` is all of them, once the writing is done. */
export function collector(): Writable & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(sink, { bytes: () => Buffer.concat(chunks) });
}
