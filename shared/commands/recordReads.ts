// Owns GET /v1/commands/{id} (one command record) and GET /v1/commands?worker=&status= (a worker's commands, paged).
import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '../errors.ts';
import type { CommandList } from './apiTypes.ts';
import type { CommandsContext } from './context.ts';
import { checkCommandId } from './ids.ts';
import { commandView, loadCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { BY_WORKER_INDEX, commandKey } from './keys.ts';
import type { CommandStatus } from './types.ts';
import type { CommandView } from './wire.ts';

/** Commands in one page of GET /v1/commands. */
export const LIST_PAGE = { default: 50, max: 100 } as const;

export async function getCommand(ctx: CommandsContext, commandId: string): Promise<CommandView> {
  checkCommandId(commandId);
  return commandView(await loadCommand(ctx, commandId));
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
