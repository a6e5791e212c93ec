// Owns GET /v1/workers: the registered workers, a page at a time, through the byWorker index's worker-list partition.
import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import { BY_WORKER_INDEX } from '../commands/keys.ts';
import { ValidationError } from '../errors.ts';
import type { WorkersContext } from './context.ts';
import { WORKER_LIST_PARTITION, workerKey } from './keys.ts';
import { presenceOf } from './records.ts';
import type { Presence, WorkerItem } from './types.ts';

/** Workers in one page of GET /v1/workers when `limit` is not given (at most LIMITS.listPageCommands). @default 50 */
export const WORKER_PAGE_DEFAULT = 50;

/** One worker as GET /v1/workers lists it: GET /v1/workers/{name} less its command registry, info and queue. */
export interface WorkerSummary {
  name: string;
  presence: Presence;
  createdAt: string;
  lastSeenAt: string | null;
  concurrency: number | null;
  running: number | null;
  version: string | null;
}

/** A page of workers, oldest registration first; `next` reads the page after it. */
export interface WorkerList {
  workers: WorkerSummary[];
  next?: string;
}

interface WorkerListCursor {
  name: string;
  createdAt: number;
}

const WORKER_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Access pattern 6c: list the workers, oldest first. Query GSI byWorker worker=WORKER_LIST_PARTITION (keys
 * only), then one BatchGet of the records for presence. Only registration, rotation and removal write that
 * index entry: a heartbeat changes no key and nothing is projected, so the partition takes no heartbeat load.
 */
export async function listWorkers(
  ctx: WorkersContext,
  query: { limit?: number; cursor?: string } = {},
): Promise<WorkerList> {
  const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  const page = await ctx.db.send(
    new QueryCommand({
      TableName: ctx.tableName,
      IndexName: BY_WORKER_INDEX,
      KeyConditionExpression: 'worker = :list',
      ExpressionAttributeValues: { ':list': WORKER_LIST_PARTITION },
      ...(cursor
        ? {
            ExclusiveStartKey: {
              ...workerKey(cursor.name),
              worker: WORKER_LIST_PARTITION,
              createdAt: cursor.createdAt,
            },
          }
        : {}),
      Limit: query.limit ?? WORKER_PAGE_DEFAULT,
    }),
  );
  const entries = (page.Items ?? []) as { pk: string; sk: string }[];
  const records = new Map<string, WorkerItem>();
  let keys: Record<string, NativeAttributeValue>[] = entries.map(({ pk, sk }) => ({ pk, sk }));
  // BatchGet may leave keys unprocessed under load; a few bounded rounds collect them.
  for (let round = 0; keys.length > 0 && round < 5; round++) {
    const answer = await ctx.db.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: keys } } }),
    );
    for (const item of (answer.Responses?.[ctx.tableName] ?? []) as WorkerItem[]) records.set(item.pk, item);
    keys = answer.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
  }
  const now = ctx.now();
  // A worker deleted between the Query and the BatchGet is left out.
  const workers = entries.flatMap((entry) => {
    const item = records.get(entry.pk);
    return item ? [summary(item, now)] : [];
  });
  const list: WorkerList = { workers };
  const last = page.LastEvaluatedKey;
  if (last)
    list.next = encodeCursor({
      name: String(last.pk).slice('WORKER#'.length),
      createdAt: Number(last.createdAt),
    });
  return list;
}

function summary(item: WorkerItem, now: number): WorkerSummary {
  return {
    name: item.name,
    presence: presenceOf(item, now),
    createdAt: new Date(item.createdAt).toISOString(),
    lastSeenAt: item.lastSeenAt === undefined ? null : new Date(item.lastSeenAt).toISOString(),
    concurrency: item.concurrency ?? null,
    running: item.running ?? null,
    version: item.version ?? null,
  };
}

function encodeCursor(cursor: WorkerListCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** A cursor this API made, checked field by field (DynamoDB answers a start key of another shape with a 500). */
function decodeCursor(text: string): WorkerListCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not base64url JSON');
  }
  const fields = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const { name, createdAt } = fields;
  if (Object.keys(fields).length !== 2 || typeof name !== 'string' || !WORKER_NAME.test(name))
    throw badCursor('not a worker name');
  if (!Number.isSafeInteger(createdAt) || (createdAt as number) < 0) throw badCursor('not a time');
  return { name, createdAt: createdAt as number };
}

function badCursor(why: string): ValidationError {
  return new ValidationError(`cursor: not a cursor this API returned for the worker list (${why})`, {
    details: { path: 'cursor' },
  });
}
