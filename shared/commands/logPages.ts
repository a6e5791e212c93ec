// Owns GET /v1/commands/{id}/logs/{name} and its /links form: a log's text after a seq, page by page, log objects as links.
import * as LIMITS from '../limits.ts';
import type { LogObjectStore } from '../logs/objects.ts';
import type { ObjectSlice } from '../logs/objectReads.ts';
import type { LogPage } from './apiTypes.ts';
import type { CommandsContext } from './context.ts';
import { LogNotFoundError } from './errors.ts';
import type { PlainEncoding } from './escapedBytes.ts';
import { checkCommandId } from './ids.ts';
import { argsOf } from './items.ts';
import type { CommandItem } from './items.ts';
import { STREAM_LOGS, logText, streamInLog } from './logText.ts';
import { PageBudget, barelyCompressed, readPage } from './pagedReads.ts';
import { loadFollowedCommand } from './recordReads.ts';
import { textRunParts } from './runs.ts';
import type { StoredRun } from './runs.ts';

/** The logs a command has: stdio and its streams, those declared in args.logfiles, and those updates have named. */
function knownLogs(item: CommandItem): string[] {
  const names = new Set<string>([...STREAM_LOGS, ...(item.logNames ?? [])]);
  const logfiles = argsOf(item).logfiles;
  if (typeof logfiles === 'object' && logfiles !== null && !Array.isArray(logfiles))
    for (const name of Object.keys(logfiles)) names.add(name);
  return [...names];
}

/** A stretch of a log's text the client reads itself: bytes start..end (exclusive) of the object at `url`. */
export interface LogLink {
  url: string;
  start: number;
  end: number;
}

/** A LogPage as the API serves it: its text in parts (compressed as a stream), and whether it is worth compressing. */
export interface LogPageRead extends Omit<LogPage, 'text'> {
  /**
   * The page's text in parts (UTF-8 bytes of a text run as stored): their concatenation is the text. With
   * `links` asked, a part may be a LogLink, whose bytes the client reads from S3 in its place.
   */
  texts: (string | Buffer | LogLink)[];
  incompressible: boolean;
  /** How the answer goes when uncompressed: as text, or as base64 where escaping would cost more. */
  encoding: PlainEncoding;
}

/**
 * How a page treats the log objects a client may read itself (linkSlice):
 * - 'none': it reads them, as any text (GET .../logs/{name}, an older client);
 * - 'stop': it ends before the first one and says so (`next: 'links'`): GET .../logs/{name}?links=1, the text
 *   form a client that reads links uses, so that text keeps its fast path (bytes, compressed as a stream);
 * - 'inline': it hands them out as links, up to LIMITS.pageLinks, with the text between them while that stays
 *   within LIMITS.pageLinkTextBytes, and ends before more text (`next: 'text'`): GET .../logs/{name}/links.
 *   50 MB of text in JSON cost 2.1 s to write and parse where the text form took 0.8 s (measured).
 */
export type LinkMode = 'none' | 'stop' | 'inline';

/**
 * The text that the acknowledged updates after `after` add to the log, cut at update boundaries by the page
 * budgets (`compressed`: the answer will be compressed), log objects as `links` says.
 */
async function readLog(
  ctx: CommandsContext,
  commandId: string,
  name: string,
  after: number,
  opts: { compressed: boolean; objects?: LogObjectStore; links: LinkMode },
): Promise<LogPageRead & { next?: 'links' | 'text' }> {
  checkCommandId(commandId);
  const item = await loadFollowedCommand(ctx, commandId);
  const known = knownLogs(item);
  if (!known.includes(name)) throw new LogNotFoundError(commandId, name, known);
  const texts: LogPageRead['texts'] = [];
  let links = 0;
  let next: 'links' | 'text' | undefined;
  const { objects } = opts;
  const budget = new PageBudget(opts.compressed);
  // A links page carries little text: more ends it (`next: 'text'`), for the text form to carry.
  let textBytes = 0;
  const textRoom = (bytes: number): boolean => {
    if (opts.links !== 'inline') return true;
    if (textBytes + bytes > LIMITS.pageLinkTextBytes) return !(next = 'text');
    textBytes += bytes;
    return true;
  };
  const read = await readPage(
    ctx,
    commandId,
    after,
    item,
    {
      // A run larger than what is left waits for the next page rather than be decoded for a few updates.
      // A text run taken whole gives its stored bytes as they are; any other run goes update by update.
      whole(run, wholeAllowed) {
        if (!textRoom(run.bytes)) return 'full';
        const fits = budget.mayTake(run.bytes);
        if (texts.length > 0 && !fits) return 'full';
        const parts = wholeAllowed && fits ? textRunParts(run) : undefined;
        if (parts === undefined) return 'byUpdate';
        const inLog = parts.filter((part) => streamInLog(part.stream, name)).map((part) => part.text);
        // Its text escaped may not fit where its bytes did: the first run of a page then goes update by update.
        if (!budget.take(inLog, 0, false)) return texts.length > 0 ? 'full' : 'byUpdate';
        for (const text of inLog) texts.push(text);
        return 'taken';
      },
      one(update, first) {
        const text = logText([update], name);
        if (!textRoom(Buffer.byteLength(text)) || !budget.take([text], 0, first)) return false;
        texts.push(text);
        return true;
      },
      wish: {
        room: () =>
          opts.links === 'inline'
            ? Math.min(budget.room(), LIMITS.pageLinkTextBytes - textBytes)
            : budget.room(),
        perUpdate: 0,
        wants: (stream) => streamInLog(stream, name),
      },
      // The links form leaves a log object that is no link (compressible, or mixed with another log's
      // stream) to the text form, which compresses it as a stream.
      objectsAsText: () => opts.links !== 'inline' || !(next = 'text'),
      // A link costs the page about 1 KB whatever its bytes: LIMITS.pageLinks of them at most.
      ...(opts.links !== 'none' && objects
        ? {
            async link(run: StoredRun, slice: ObjectSlice) {
              if (opts.links === 'stop') return !(next = 'links');
              if (links >= LIMITS.pageLinks) return false;
              links += 1;
              texts.push({ url: await objects.link(run.obj!), start: slice.start, end: slice.end });
              return true;
            },
          }
        : {}),
    },
    objects,
  );
  budget.checkAnswer(commandId, after);
  const nextSeq = Math.max(read.seen, -1);
  return {
    texts,
    nextSeq,
    status: item.status,
    complete: item.status === 'complete' && nextSeq >= item.acked,
    // Links are not counted: LIMITS.pageLinks of about 1 KB each fit the room Lambda's answer has over pagePlainBytes.
    ...budget.plain(textsOf(texts), barelyCompressed(read)),
    ...(next && !(item.status === 'complete' && nextSeq >= item.acked) ? { next } : {}),
  };
}

/**
 * GET /v1/commands/{id}/logs/{name}?after=[&links=1]: the page's text, every byte through the answer; with
 * `links: 'stop'`, up to the first log object the client may read itself (`next: 'links'`, the x-bbs-log-next
 * header): GET .../links reads on from nextSeq.
 */
export async function getLog(
  ctx: CommandsContext,
  commandId: string,
  name: string,
  after: number,
  opts: { compressed: boolean; objects?: LogObjectStore; links?: 'none' | 'stop' },
): Promise<Omit<LogPageRead, 'texts'> & { texts: (string | Buffer)[]; next?: 'links' | 'text' }> {
  const page = await readLog(ctx, commandId, name, after, { ...opts, links: opts.links ?? 'none' });
  return { ...page, texts: textsOf(page.texts) };
}

function isLink(part: LogPageRead['texts'][number]): part is LogLink {
  return typeof part === 'object' && !Buffer.isBuffer(part);
}

function textsOf(parts: LogPageRead['texts']): (string | Buffer)[] {
  return parts.filter((part): part is string | Buffer => !isLink(part));
}

/** A page of GET .../logs/{name}/links as the API answers it: JSON in parts, as getUpdates's. */
export interface LogLinksPageJson {
  json: Buffer[];
  incompressible: boolean;
  encoding: PlainEncoding;
}

/**
 * GET /v1/commands/{id}/logs/{name}/links?after=: the same page, in JSON (LogLinksPage), where a log object's
 * text that barely compresses is a link the client reads from S3 itself (a presigned GET and a byte range):
 * those bytes never pass through the function, and a client reads several at once.
 */
export async function getLogLinks(
  ctx: CommandsContext,
  commandId: string,
  name: string,
  after: number,
  opts: { compressed: boolean; objects?: LogObjectStore },
): Promise<LogLinksPageJson> {
  const page = await readLog(ctx, commandId, name, after, { ...opts, links: 'inline' });
  // An update with no text in the log (rc, a header of another log) adds an empty part: not worth a piece.
  const parts = page.texts.filter((part) => isLink(part) || part.length > 0);
  const pieces = parts.map((part) =>
    isLink(part)
      ? JSON.stringify(part)
      : `{"text":${JSON.stringify(typeof part === 'string' ? part : part.toString('utf8'))}}`,
  );
  const head = {
    nextSeq: page.nextSeq,
    status: page.status,
    complete: page.complete,
    ...(page.next ? { next: page.next } : {}),
  };
  const json = [Buffer.from(`${JSON.stringify(head).slice(0, -1)},"pieces":[`)];
  pieces.forEach((piece, i) => json.push(Buffer.from(i === 0 ? piece : `,${piece}`)));
  json.push(Buffer.from(']}'));
  return { json, incompressible: page.incompressible, encoding: page.encoding };
}
