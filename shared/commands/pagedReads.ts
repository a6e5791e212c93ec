// Owns reading pages of stored runs cut by byte budgets, and GET /v1/commands/{id}/updates (logs: logPages.ts).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import * as LIMITS from '../limits.ts';
import type { SequencedUpdate } from './apiTypes.ts';
import type { CommandsContext } from './context.ts';
import { PageNeedsCompressionError } from './errors.ts';
import { checkCommandId } from './ids.ts';
import type { CommandItem, UpdateBatchItem } from './items.ts';
import { updateBatchKey, updateBatchRange } from './keys.ts';
import { loadFollowedCommand } from './recordReads.ts';
import { PlainAnswerSize, jsonPartBytes } from './escapedBytes.ts';
import type { PlainEncoding } from './escapedBytes.ts';
import { decodeRun, isPacked, packedSize, runFragment, storedSize } from './runs.ts';
import type { LogObjectStore } from '../logs/objects.ts';
import { linkSlice, objectSlice, readObjectSlice } from '../logs/objectReads.ts';
import type { ObjectSlice, SliceWish } from '../logs/objectReads.ts';
import type { StoredRun } from './runs.ts';

/**
 * The stored runs from the one holding seq after + 1 on, each read once: one descending query finds that run
 * (reading it whole: a query's read units count the items it reads, whatever it projects, so a keys-only
 * lookup followed by a query from it read the tail run twice, the run a follower at the tail reads on every
 * poll), then ascending pages after it. Eventually consistent: a run not yet visible is a gap the page stops
 * at (readPage), and the next poll finds it.
 */
async function* runsFrom(ctx: CommandsContext, commandId: string, after: number): AsyncGenerator<StoredRun> {
  const range = updateBatchRange(commandId);
  const { Items: holding = [] } = await ctx.db.send(
    new QueryCommand({
      TableName: ctx.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': range.pk,
        ':from': range.from,
        ':to': updateBatchKey(commandId, after + 1).sk,
      },
      ScanIndexForward: false,
      Limit: 1,
    }),
  );
  const first = holding[0] as UpdateBatchItem | undefined;
  if (first) yield first;
  let startKey: Record<string, NativeAttributeValue> | undefined = first
    ? { pk: range.pk, sk: first.sk }
    : undefined;
  do {
    const page = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': range.pk, ':from': first?.sk ?? range.from, ':to': range.to },
        ExclusiveStartKey: startKey,
        // Items are up to ~380 KB; a few at a time keeps one read near the page budget.
        Limit: 8,
      }),
    );
    for (const item of (page.Items ?? []) as UpdateBatchItem[]) yield item;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

/**
 * The stored runs, with the record's final run (stored by the ending write) placed by its first seq:
 * after every stored run, unless a run put by a resend starts later (readers skip seqs already read).
 */
async function* withFinalRun(
  runs: AsyncGenerator<StoredRun>,
  finalRun: StoredRun | undefined,
): AsyncGenerator<StoredRun> {
  let pending = finalRun;
  for await (const run of runs) {
    if (pending && run.first > pending.first) {
      yield pending;
      pending = undefined;
    }
    yield run;
  }
  if (pending) yield pending;
}

/** What a page reader takes from each run: whole runs, or single updates where a run is cut. */
export interface PageSink {
  /**
   * Offered each run: take it whole (every seq of it is unseen and acknowledged), have it offered update by
   * update, or end the page before it.
   */
  whole(run: StoredRun, wholeAllowed: boolean): 'taken' | 'byUpdate' | 'full';
  /** Takes one update if it fits (the first always fits); returns whether it did. */
  one(update: SequencedUpdate, first: boolean): boolean;
  /** What the sink takes of a log object, asked before its bytes are fetched (see SliceWish). */
  wish: Pick<SliceWish, 'perUpdate' | 'wants'> & { room(): number };
  /** Takes a slice of a log object for the client to read itself (linkSlice); false when the page has no room. */
  link?(run: StoredRun, slice: ObjectSlice): Promise<boolean>;
  /** Whether the page reads a log object that is no link as text (default yes); false ends the page before it. */
  objectsAsText?(): boolean;
}

/**
 * Reads the acknowledged updates after `after` (up to the record's acked), the stored runs and then the
 * record's final run, run by run into `sink` until the stored-bytes budget or the sink is full.
 * Returns the last seq read, and the stored and decompressed bytes of the runs read.
 */
export async function readPage(
  ctx: CommandsContext,
  commandId: string,
  after: number,
  record: CommandItem,
  sink: PageSink,
  objects: LogObjectStore | undefined,
): Promise<{ seen: number; stored: number; packedStored: number; packedRaw: number }> {
  const acked = record.acked;
  let seen = after;
  let stored = 0;
  let packedStored = 0;
  let packedRaw = 0;
  if (after >= acked) return { seen, stored, packedStored, packedRaw };
  for await (const found of withFinalRun(runsFrom(ctx, commandId, after), record.finalRun)) {
    if (found.last <= seen) continue;
    // Never serve past a gap or past acked (a run stored by a request that has not advanced acked yet).
    if (found.first > seen + 1 || found.first > acked) break;
    let run = found;
    let size: number;
    const linked =
      found.obj !== undefined && sink.link ? linkSlice(found, seen + 1, sink.wish.wants, acked) : undefined;
    if (linked) {
      if (linked.slice && !(await sink.link!(found, linked.slice))) break;
      seen = Math.max(seen, linked.through);
      if (seen >= acked) break;
      continue;
    }
    if (found.obj !== undefined && sink.objectsAsText?.() === false) break;
    if (found.obj !== undefined) {
      // A log object's run is read as the slice the sink has room for and wants, from S3: nothing is
      // fetched that the page would not take (a read of stderr over stdout objects makes no GET).
      const cut = objectSlice(found, seen + 1, {
        room: Math.min(LIMITS.pageStoredBytes - stored, sink.wish.room()),
        perUpdate: sink.wish.perUpdate,
        wants: sink.wish.wants,
        upTo: acked,
        // Only on an empty page (links and skipped updates leave `stored` at 0 on a page that is not).
        atLeastOne: stored === 0 && seen === after,
      });
      // The updates skipped are not in what the sink reads: they are read, with nothing to take.
      seen = Math.max(seen, cut.skipTo);
      if (cut.slice === undefined) {
        // Either the page has no room for the run's next update, or it wants none of the rest of the run.
        if (seen >= acked || seen < found.last) break;
        continue;
      }
      size = cut.slice.end - cut.slice.start;
      run = await readObjectSlice(objects, found, cut.slice);
    } else {
      size = storedSize(found);
      if (seen > after && stored + size > LIMITS.pageStoredBytes) break;
    }
    stored += size;
    if (isPacked(run) || run.obj !== undefined) {
      packedStored += packedSize(run);
      packedRaw += run.bytes;
    }
    const taking = sink.whole(run, run.first === seen + 1 && run.last <= acked);
    if (taking === 'full') break;
    if (taking === 'taken') {
      seen = run.last;
    } else {
      for (const update of decodeRun(run)) {
        if (update[1] <= seen || update[1] > acked) continue;
        if (!sink.one(update, seen === after)) return { seen, stored, packedStored, packedRaw };
        seen = update[1];
      }
    }
    if (seen >= acked) break;
  }
  return { seen, stored, packedStored, packedRaw };
}

/**
 * What a page may still take. Compressed, its decompressed bytes (LIMITS.pageCompressedBytes). Uncompressed,
 * what it costs in the Lambda response (LIMITS.pagePlainBytes): its text as JSON escapes it, or its base64 when
 * that is smaller. A page of control characters escapes to six times its bytes, and once cut by its raw bytes
 * alone, 4 MiB of them made a 24 MB answer that Lambda refused (500) every time the client asked again.
 */
export class PageBudget {
  private readonly size = new PlainAnswerSize();

  constructor(private readonly compressed: boolean) {}

  private fits(raw: number, escaped: number): boolean {
    return this.compressed
      ? this.size.raw + raw <= LIMITS.pageCompressedBytes
      : this.size.costWith(raw, escaped) <= LIMITS.pagePlainBytes;
  }

  /**
   * Raw bytes that surely fit, however their text escapes: compressed, what is left of the decompressed
   * budget; uncompressed, what keeps the answer's base64 (its dearest encoding) within LIMITS.pagePlainBytes.
   */
  room(): number {
    const total = this.compressed ? LIMITS.pageCompressedBytes : Math.floor(LIMITS.pagePlainBytes / 4) * 3;
    return Math.max(0, total - this.size.raw);
  }

  /** Whether `raw` more bytes may fit before their text is read: escaping only grows, so raw is a lower bound. */
  mayTake(raw: number): boolean {
    return this.fits(raw, raw);
  }

  /** Counts the parts (and `separators` bytes between them) if they fit, or if `force`d; returns whether it did. */
  take(parts: (string | Buffer)[], separators: number, force: boolean): boolean {
    let raw = separators;
    let escaped = separators;
    for (const part of parts) {
      raw += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
      // A compressed answer travels as base64 of the compressed bytes: escaping costs it nothing.
      if (!this.compressed) escaped += jsonPartBytes(part);
    }
    if (!force && !this.fits(raw, escaped)) return false;
    this.size.add(raw, escaped);
    return true;
  }

  /**
   * Throws PageNeedsCompressionError when an uncompressed page is over what a Lambda answer holds: only a page
   * of one update can be (every other stops within LIMITS.pagePlainBytes), and asking again would not help.
   */
  checkAnswer(commandId: string, after: number): void {
    const limit = LIMITS.lambdaResponseBytes - ANSWER_ENVELOPE_BYTES;
    if (!this.compressed && this.size.cost > limit)
      throw new PageNeedsCompressionError(commandId, after + 1, this.size.cost, LIMITS.lambdaResponseBytes);
  }

  /**
   * How the page goes when it goes uncompressed. A compressed page that would go uncompressed (its stored runs
   * barely compressed) does so only if it fits LIMITS.pagePlainBytes that way; else it is compressed after all.
   */
  plain(
    parts: (string | Buffer)[],
    incompressible: boolean,
  ): { incompressible: boolean; encoding: PlainEncoding } {
    if (!this.compressed) return { incompressible, encoding: this.size.encoding };
    if (!incompressible) return { incompressible, encoding: 'text' };
    const size = PlainAnswerSize.of(parts);
    return size.cost <= LIMITS.pagePlainBytes
      ? { incompressible, encoding: size.encoding }
      : { incompressible: false, encoding: 'text' };
  }
}

/** Room in a Lambda answer for what is not the page: the status, the headers, the JSON around the body. */
const ANSWER_ENVELOPE_BYTES = 16 * 1024;

export function barelyCompressed(read: { packedStored: number; packedRaw: number }): boolean {
  return read.packedRaw > 0 && read.packedStored / read.packedRaw > LIMITS.incompressibleRatio;
}

/** An UpdatesPage as JSON text, the stored fragments in order without parsing them. */
export interface UpdatesPageJson {
  /** The answer's JSON in parts: their concatenation is the page (the edge compresses them as a stream). */
  json: Buffer[];
  /** The stored runs barely compressed: do not compress the answer again. */
  incompressible: boolean;
  /** How the answer goes when uncompressed: as text, or as base64 where escaping would cost more. */
  encoding: PlainEncoding;
}

/**
 * GET /v1/commands/{id}/updates?after=: the acknowledged updates after `after`, whole stored runs where
 * possible. `compressed` says whether the answer will be compressed (it sets the budget, see PageBudget).
 */
export async function getUpdates(
  ctx: CommandsContext,
  commandId: string,
  after: number,
  opts: { compressed: boolean; objects?: LogObjectStore },
): Promise<UpdatesPageJson> {
  checkCommandId(commandId);
  const item = await loadFollowedCommand(ctx, commandId);
  const parts: Buffer[] = [];
  const budget = new PageBudget(opts.compressed);
  const read = await readPage(
    ctx,
    commandId,
    after,
    item,
    {
      whole(run, wholeAllowed) {
        // Each fragment after the first costs a comma too.
        const comma = parts.length > 0 ? 1 : 0;
        if (!budget.mayTake(run.bytes + comma)) return parts.length > 0 ? 'full' : 'byUpdate';
        if (!wholeAllowed) return 'byUpdate';
        const fragment = runFragment(run);
        if (!budget.take([fragment], comma, false)) return parts.length > 0 ? 'full' : 'byUpdate';
        parts.push(fragment);
        return 'taken';
      },
      one(update, first) {
        const text = Buffer.from(JSON.stringify(update));
        if (!budget.take([text], parts.length > 0 ? 1 : 0, first)) return false;
        parts.push(text);
        return true;
      },
      wish: { room: () => budget.room(), perUpdate: UPDATE_JSON_BYTES, wants: () => true },
    },
    opts.objects,
  );
  const { seen } = read;
  budget.checkAnswer(commandId, after);
  const more = seen < item.acked;
  const tail = `],"acked":${item.acked},"status":${JSON.stringify(item.status)}${more ? `,"next":${seen}` : ''}}`;
  const json: Buffer[] = [UPDATES_HEAD];
  for (const [i, part] of parts.entries()) json.push(...(i > 0 ? [COMMA, part] : [part]));
  json.push(Buffer.from(tail));
  return { json, ...budget.plain(json, barelyCompressed(read)) };
}

/** The JSON around one stdio update's text in a page, at most: `[{"header":""},2147483647],`. */
const UPDATE_JSON_BYTES = 28;

const UPDATES_HEAD = Buffer.from('{"updates":[');
const COMMA = Buffer.from(',');
