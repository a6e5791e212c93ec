// Owns GET /v1/commands/{id} (one command record) and GET /v1/commands?worker=&status= (a worker's commands, paged).
import { BatchGetCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import { logger } from '../observability.ts';
import type { CommandList } from './apiTypes.ts';
import type { CommandsContext } from './context.ts';
import { CommandNotFoundError } from './errors.ts';
import { jsonStringBytes } from './escapedBytes.ts';
import { checkCommandId } from './ids.ts';
import { asCommandItem, commandView, loadCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { BY_WORKER_INDEX, commandKey } from './keys.ts';
import type { CommandStatus } from './types.ts';
import type { CommandView } from './wire.ts';

/** Commands in one page of GET /v1/commands when the query names no `limit` (at most LIMITS.listPageCommands). */
export const LIST_PAGE_DEFAULT = 50;

export async function getCommand(ctx: CommandsContext, commandId: string): Promise<CommandView> {
  checkCommandId(commandId);
  return commandView(await loadCommand(ctx, commandId));
}

/**
 * The record as a follower's page reads it (GET .../updates, GET .../logs/{name}): eventually consistent, half
 * the read units of a strong read and served by any replica. A stale copy is harmless there. It is one whole
 * past version of the record, and a page serves nothing past that version's `acked`, so a stale copy serves
 * less and the next poll the rest. A page says `complete` only when its version is complete, and a complete
 * record's `acked` and final run never change again. The one harm would be a record not visible yet (a
 * follower that starts reading just after the start): that miss reads again, strongly, before it is a 404.
 * GET /v1/commands/{id} stays strongly consistent: a client reads its own start there.
 */
export async function loadFollowedCommand(ctx: CommandsContext, commandId: string): Promise<CommandItem> {
  const { Item } = await ctx.db.send(
    new GetCommand({ TableName: ctx.tableName, Key: commandKey(commandId), ConsistentRead: false }),
  );
  const item = Item ? (Item as CommandItem) : await loadCommand(ctx, commandId);
  // Past its retention the command is gone, though DynamoDB's TTL may take days to delete it: its log objects
  // expire by S3's own rule meanwhile (infra/artifacts.yml), and a page would fail on one instead of a 404.
  if (item.expiresAt !== undefined && item.expiresAt * 1000 <= ctx.now())
    throw new CommandNotFoundError(commandId);
  return item;
}

/** A cursor that is not one this API returned for this worker's list: 400, nothing queried. */
function badCursor(why: string): ValidationError {
  return new ValidationError(`cursor: not a cursor this API returned for this worker (${why})`, {
    details: { path: 'cursor' },
  });
}

/**
 * What a list cursor carries: the worker it lists, the createdAt of the last index entry the page read,
 * and that entry's command id. Token items written before they moved off byWorker (they carried `worker`
 * and `createdAt`; shared/auth/tokens.ts now writes `boundWorker`) are still in the index until revoked or
 * rotated, keyed by the token's hash: such an entry's cursor carries no id, so no key of the table ever
 * reaches a client, and the next page starts strictly before its createdAt.
 */
interface ListCursor {
  worker: string;
  createdAt: number;
  commandId?: string;
}

const CURSOR_KEYS = new Set(['worker', 'createdAt', 'commandId']);
const COMMAND_ID = /^[0-9a-f]{32}$/;

function encodeCursor(lastKey: Record<string, NativeAttributeValue>, worker: string): string {
  const pk = String(lastKey.pk);
  const cursor: ListCursor = { worker, createdAt: Number(lastKey.createdAt) };
  if (pk.startsWith('CMD#')) cursor.commandId = pk.slice('CMD#'.length);
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/**
 * A cursor this API returned for this worker's list, checked field by field: DynamoDB answers a start key
 * of any other shape with a ValidationException (a 500), and a cursor is never a way into another
 * worker's partition or to a table key.
 */
function decodeCursor(text: string, worker: string): ListCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not base64url JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badCursor('not an object');
  const fields = value as Record<string, unknown>;
  if (Object.keys(fields).some((key) => !CURSOR_KEYS.has(key))) throw badCursor('an unknown field');
  const { createdAt, commandId } = fields;
  if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) throw badCursor('not a time');
  if (commandId !== undefined && (typeof commandId !== 'string' || !COMMAND_ID.test(commandId)))
    throw badCursor('not a command id');
  if (fields.worker !== worker) throw badCursor('another worker');
  return { worker, createdAt: createdAt as number, ...(commandId === undefined ? {} : { commandId }) };
}

/** The query's start: after the cursor's command entry, or strictly before a token entry's createdAt. */
function queryFrom(cursor: ListCursor | undefined, worker: string) {
  if (cursor === undefined)
    return { KeyConditionExpression: 'worker = :worker', ExpressionAttributeValues: { ':worker': worker } };
  if (cursor.commandId === undefined)
    return {
      KeyConditionExpression: 'worker = :worker AND createdAt < :before',
      ExpressionAttributeValues: { ':worker': worker, ':before': cursor.createdAt },
    };
  return {
    KeyConditionExpression: 'worker = :worker',
    ExpressionAttributeValues: { ':worker': worker },
    ExclusiveStartKey: { ...commandKey(cursor.commandId), worker, createdAt: cursor.createdAt },
  };
}

/**
 * The view of one listed record, or none when the record cannot be read (damaged, or holding what no check
 * let in today): logged, and the rest of the page still answers. GET /v1/commands/{id} reports it alone.
 */
function viewOrSkip(item: CommandItem): CommandView[] {
  try {
    return [commandView(asCommandItem({ ...item }))];
  } catch (error) {
    logger.error('listed command has a record that cannot be shown; left out of the page', {
      commandId: typeof item.commandId === 'string' ? item.commandId : null,
      error,
    });
    return [];
  }
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
      ...queryFrom(query.cursor ? decodeCursor(query.cursor, query.worker) : undefined, query.worker),
      ScanIndexForward: false,
      Limit: query.limit ?? LIST_PAGE_DEFAULT,
    }),
  );
  // Token items written before they moved off the index (shared/auth/tokens.ts) are still in it (see
  // ListCursor): only command entries are read.
  const entries = ((page.Items ?? []) as IndexEntry[]).filter((entry) => entry.pk.startsWith('CMD#'));
  const ids = entries.map((entry) => entry.pk.slice('CMD#'.length));
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
  const { commands, last, cut } = sizedPage(entries, records, query.status);
  const list: CommandList = { commands };
  if (cut && last) list.next = encodeCursor(last, query.worker);
  else if (page.LastEvaluatedKey) list.next = encodeCursor(page.LastEvaluatedKey, query.worker);
  return list;
}

/** One byWorker entry, keys only: the record's table key and the index's. */
interface IndexEntry {
  pk: string;
  createdAt: number;
}

/**
 * The listed views in index order, as many as fit the answer: a record holds up to 64 KiB of args, and their
 * JSON escaped again in the Lambda response (a control character takes 7 bytes there), so 100 of them could
 * pass Lambda's 6 MB. The page ends at LIMITS.pagePlainBytes of escaped JSON (the first view always fits), and
 * its cursor then points after the last view it holds (`cut`).
 */
function sizedPage(
  entries: IndexEntry[],
  records: Map<string, CommandItem>,
  status: CommandStatus | undefined,
): { commands: CommandView[]; last?: IndexEntry; cut: boolean } {
  const commands: CommandView[] = [];
  let bytes = 0;
  let last: IndexEntry | undefined;
  for (const entry of entries) {
    const item = records.get(entry.pk.slice('CMD#'.length));
    if (item === undefined || (status && item.status !== status)) continue;
    for (const view of viewOrSkip(item)) {
      const size = jsonStringBytes(JSON.stringify(view)) + 1;
      if (commands.length > 0 && bytes + size > LIMITS.pagePlainBytes) return { commands, last, cut: true };
      commands.push(view);
      bytes += size;
      last = entry;
    }
  }
  return { commands, last, cut: false };
}
