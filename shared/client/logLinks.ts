// Owns reading a log through GET .../logs/{name}/links: the pages' text, and the log objects' bytes straight from S3, several at once.
import { getObject } from '../artifacts/transfer.ts';
import type { LogLinksPage } from '../commands/wire.ts';
import { apiRequest } from './http.ts';
import type { ApiConnection } from './http.ts';

/**
 * Log objects a reader fetches at once. Each is held until the bytes before it are given out: at most this
 * many times LOG_OBJECT_MAX_BYTES (8 MiB) in memory. @default 4
 */
export const LINKS_IN_FLIGHT = 4;

export interface ReadLogOptions {
  /** Read what updates after this seq add. @default -1 (the whole log) */
  after?: number;
  signal?: AbortSignal;
}

/**
 * The bytes of a log as stored so far, in order, each once: UTF-8 text, never decoded. A log object whose
 * text barely compresses comes from S3 itself (a presigned ranged GET the page names), up to LINKS_IN_FLIGHT
 * at once; the rest comes in the pages. Ends once the log is final, or once everything stored so far is read
 * (a running command: read again from the last page's nextSeq for more). A GET that fails or returns other
 * than its range's size throws TransferFailedError (an expired link, after LIMITS.artifactDownloadUrlSeconds,
 * is one): nothing after it is given out.
 */
export async function* readLogBytes(
  connection: ApiConnection,
  commandId: string,
  name: string,
  opts: ReadLogOptions = {},
): AsyncGenerator<Buffer> {
  let after = opts.after ?? -1;
  const path = `/v1/commands/${encodeURIComponent(commandId)}/logs/${encodeURIComponent(name)}/links`;
  for (;;) {
    const page = await apiRequest<LogLinksPage>(connection, 'GET', `${path}?after=${after}`, {
      signal: opts.signal,
    });
    const reads = page.pieces.map((piece) =>
      'url' in piece
        ? () => getObject(piece.url, piece.start, piece.end, opts.signal)
        : () => Promise.resolve(Buffer.from(piece.text, 'utf8')),
    );
    yield* inOrder(reads, LINKS_IN_FLIGHT);
    if (page.complete || page.nextSeq <= after) return;
    after = page.nextSeq;
  }
}

/** The results of `reads`, in order, with up to `window` of them under way at once. */
async function* inOrder<T>(reads: (() => Promise<T>)[], window: number): AsyncGenerator<T> {
  const started: Promise<T>[] = [];
  const start = (i: number) => {
    const read = reads[i]!();
    // Awaited in its turn; until then a failure must not count as unhandled.
    read.catch(() => undefined);
    started.push(read);
  };
  for (let i = 0; i < Math.min(window, reads.length); i++) start(i);
  for (let i = 0; i < reads.length; i++) {
    const result = await started[i]!;
    if (i + window < reads.length) start(i + window);
    yield result;
  }
}
