// Owns reading a log through GET .../logs/{name}/links: the pages' text, and the log objects' bytes straight from S3, several at once.
import { getObject } from '../artifacts/transfer.ts';
import { LOG_HEADERS } from '../commands/wire.ts';
import type { LogLinksPage } from '../commands/wire.ts';
import { ApiError } from './errors.ts';
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
 * The bytes of a log as stored so far, in order, each once: UTF-8 text, never decoded. Text comes through
 * GET .../logs/{name}?links=1 (bytes, compressed as a stream), which ends a page before a log object whose
 * text barely compresses (x-bbs-log-next: links); such objects come through GET .../links as presigned ranged
 * GETs, read from S3 itself, up to LINKS_IN_FLIGHT at once, until that page says text comes next. Ends once
 * the log is final, or once everything stored so far is read (a running command: read again from where it
 * ended for more). A GET that fails or returns other than its range's size throws TransferFailedError (an
 * expired link, after LIMITS.artifactDownloadUrlSeconds, is one): nothing after it is given out.
 */
export async function* readLogBytes(
  connection: ApiConnection,
  commandId: string,
  name: string,
  opts: ReadLogOptions = {},
): AsyncGenerator<Buffer> {
  let after = opts.after ?? -1;
  const path = `/v1/commands/${encodeURIComponent(commandId)}/logs/${encodeURIComponent(name)}`;
  let links = false;
  let stalls = 0;
  for (;;) {
    let page: { nextSeq: number; complete: boolean; next?: string };
    if (links) {
      const read = await apiRequest<LogLinksPage>(connection, 'GET', `${path}/links?after=${after}`, {
        signal: opts.signal,
      });
      const reads = read.pieces.map((piece) =>
        'url' in piece
          ? () => getObject(piece.url, piece.start, piece.end, opts.signal)
          : () => Promise.resolve(Buffer.from(piece.text, 'utf8')),
      );
      yield* inOrder(reads, LINKS_IN_FLIGHT);
      page = read;
    } else {
      let headers: Headers | undefined;
      const body = await apiRequest<Buffer>(connection, 'GET', `${path}?after=${after}&links=1`, {
        bytes: true,
        signal: opts.signal,
        onHeaders: (received) => (headers = received),
      });
      if (body.length > 0) yield body;
      page = {
        nextSeq: Number(headers?.get(LOG_HEADERS.nextSeq)),
        complete: headers?.get(LOG_HEADERS.complete) === 'true',
        next: headers?.get(LOG_HEADERS.next) ?? undefined,
      };
      if (!Number.isInteger(page.nextSeq))
        throw new ApiError('GET', `${path}`, 200, {
          message: `the answer lacks the ${LOG_HEADERS.nextSeq} header: is this the buildbot-serverless API?`,
        });
    }
    if (page.complete) return;
    // The other form reads on from here (a text page may end at once, before a log object).
    const switching: boolean = links ? page.next === 'text' : page.next === 'links';
    if (page.nextSeq <= after) {
      if (!switching) return;
      // Each form sends the client to the other without moving on: an API that disagrees with itself.
      if (++stalls > 1)
        throw new ApiError('GET', path, 200, { message: `the log's pages do not move on from seq ${after}` });
    } else stalls = 0;
    if (switching) links = !links;
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
