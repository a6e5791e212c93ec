import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { CommandsContext } from './context.ts';
import { checkCommandId } from './lifecycle.ts';
import { BY_WORKER_INDEX, commandKey, updateBatchKey, updateBatchRange } from './keys.ts';
import { commandView, loadCommand } from './items.ts';
import type { CommandItem, UpdateBatchItem } from './items.ts';
import type { CommandStatus } from './types.ts';
import { STDIO_LOG, decodeUpdates, logText } from './updates.ts';
import type { SequencedUpdate } from './updates.ts';
import type { CommandView } from './wire.ts';

/** Reads for clients: one command, its updates after a seq, a log's text, a worker's commands. */

/** Bounds of one page of GET .../updates. */
export const UPDATES_PAGE = {
  /** @default 1000 */
  maxUpdates: 1000,
  /** JSON bytes of updates in one answer. @default 1 MiB */
  maxBytes: 1024 * 1024,
} as const;

/** Bytes of log text in one GET .../logs/{name} answer. @default 1 MiB */
export const LOG_PAGE_BYTES = 1024 * 1024;

/** Commands in one page of GET /v1/commands. */
export const LIST_PAGE = { default: 50, max: 100 } as const;

export async function getCommand(ctx: CommandsContext, commandId: string): Promise<CommandView> {
  checkCommandId(commandId);
  return commandView(await loadCommand(ctx, commandId));
}

/**
 * Reads stored updates with seq in (after, acked], in order, stopping once `budget` says the page is full.
 * The batch holding seq after + 1 starts at or before it: one descending query finds it, then ascending pages.
 */
async function readStoredUpdates(
  ctx: CommandsContext,
  commandId: string,
  after: number,
  acked: number,
  full: (updates: SequencedUpdate[]) => boolean,
): Promise<{ updates: SequencedUpdate[]; more: boolean }> {
  const updates: SequencedUpdate[] = [];
  if (after >= acked) return { updates, more: false };
  const range = updateBatchRange(commandId);
  const { Items: before = [] } = await ctx.db.send(
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
      ProjectionExpression: 'sk',
    }),
  );
  const from = (before[0] as { sk: string } | undefined)?.sk ?? range.from;
  let startKey: Record<string, NativeAttributeValue> | undefined;
  let seen = after;
  do {
    const page = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': range.pk, ':from': from, ':to': range.to },
        ExclusiveStartKey: startKey,
        // Items are up to ~380 KB; a few at a time keeps one read within the page budget.
        Limit: 8,
      }),
    );
    for (const item of (page.Items ?? []) as UpdateBatchItem[]) {
      for (const update of decodeUpdates(item.first, item)) {
        // Only acknowledged seqs, each once (runs never overlap, but a reader should not trust that blindly).
        if (update[1] <= seen || update[1] > acked) continue;
        if (full(updates)) return { updates, more: true };
        updates.push(update);
        seen = update[1];
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey && seen < acked);
  return { updates, more: seen < acked };
}

export interface UpdatesPage {
  updates: SequencedUpdate[];
  acked: number;
  status: CommandStatus;
  /** Present when more updates are stored: pass it as `after` for the next page. */
  next?: number;
}

export async function getUpdates(
  ctx: CommandsContext,
  commandId: string,
  after: number,
): Promise<UpdatesPage> {
  checkCommandId(commandId);
  const item = await loadCommand(ctx, commandId);
  let bytes = 0;
  const { updates, more } = await readStoredUpdates(ctx, commandId, after, item.acked, (page) => {
    const last = page[page.length - 1];
    if (last) bytes += Buffer.byteLength(JSON.stringify(last));
    return page.length >= UPDATES_PAGE.maxUpdates || bytes >= UPDATES_PAGE.maxBytes;
  });
  const page: UpdatesPage = { updates, acked: item.acked, status: item.status };
  if (more) page.next = updates[updates.length - 1]?.[1] ?? after;
  return page;
}

export class LogNotFoundError extends NotFoundError {
  constructor(commandId: string, name: string, known: string[]) {
    super(`command ${commandId} has no log ${name}; its logs: ${known.join(', ')}`, {
      details: { commandId, log: name, logs: known },
    });
  }
}

/** The logs a command has: stdio, those declared in args.logfiles, and those updates have named. */
function knownLogs(item: CommandItem): string[] {
  const names = new Set<string>([STDIO_LOG, ...(item.logNames ?? [])]);
  const logfiles = (JSON.parse(item.argsJson) as { logfiles?: unknown }).logfiles;
  if (typeof logfiles === 'object' && logfiles !== null && !Array.isArray(logfiles))
    for (const name of Object.keys(logfiles)) names.add(name);
  return [...names];
}

export interface LogPage {
  text: string;
  /** The seq this page read up to: pass it as `after` to continue (the x-bbs-next-seq header). */
  nextSeq: number;
  status: CommandStatus;
  /** True when the log is final: the command is complete and every update was read. */
  complete: boolean;
}

export async function getLog(
  ctx: CommandsContext,
  commandId: string,
  name: string,
  after: number,
): Promise<LogPage> {
  checkCommandId(commandId);
  const item = await loadCommand(ctx, commandId);
  const known = knownLogs(item);
  if (!known.includes(name)) throw new LogNotFoundError(commandId, name, known);
  let bytes = 0;
  const { updates } = await readStoredUpdates(ctx, commandId, after, item.acked, (page) => {
    const last = page[page.length - 1];
    if (last) bytes += Buffer.byteLength(logText([last], name));
    return bytes >= LOG_PAGE_BYTES;
  });
  const nextSeq = updates[updates.length - 1]?.[1] ?? Math.max(after, -1);
  return {
    text: logText(updates, name),
    nextSeq,
    status: item.status,
    complete: item.status === 'complete' && nextSeq >= item.acked,
  };
}

export interface CommandList {
  commands: CommandView[];
  /** Opaque cursor for the next page, when there is one. */
  next?: string;
}

function decodeCursor(cursor: string): Record<string, NativeAttributeValue> {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (typeof key === 'object' && key !== null && !Array.isArray(key))
      return key as Record<string, NativeAttributeValue>;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('cursor: not a cursor this API returned', { details: { path: 'cursor' } });
}

/** GET /v1/commands?worker=: the byWorker index (keys only), newest first, then one BatchGet of the records. */
export async function listCommands(
  ctx: CommandsContext,
  query: { worker: string; status?: CommandStatus; limit?: number; cursor?: string },
): Promise<CommandList> {
  const page = await ctx.db.send(
    new QueryCommand({
      TableName: ctx.tableName,
      IndexName: BY_WORKER_INDEX,
      KeyConditionExpression: 'worker = :worker',
      ExpressionAttributeValues: { ':worker': query.worker },
      ScanIndexForward: false,
      Limit: query.limit ?? LIST_PAGE.default,
      ExclusiveStartKey: query.cursor ? decodeCursor(query.cursor) : undefined,
    }),
  );
  const ids = (page.Items ?? []).map((key) => (key as { pk: string }).pk.slice('CMD#'.length));
  const records = new Map<string, CommandItem>();
  let keys: Record<string, NativeAttributeValue>[] = ids.map((id) => commandKey(id));
  // BatchGet may return some keys unprocessed under load; a few bounded rounds collect them.
  for (let round = 0; keys.length > 0 && round < 5; round++) {
    const answer = await ctx.db.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: keys, ConsistentRead: true } } }),
    );
    for (const item of (answer.Responses?.[ctx.tableName] ?? []) as CommandItem[])
      records.set(item.commandId, item);
    keys = answer.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
  }
  const commands = ids
    .map((id) => records.get(id))
    .filter(
      (item): item is CommandItem => item !== undefined && (!query.status || item.status === query.status),
    )
    .map(commandView);
  const list: CommandList = { commands };
  if (page.LastEvaluatedKey)
    list.next = Buffer.from(JSON.stringify(page.LastEvaluatedKey)).toString('base64url');
  return list;
}
