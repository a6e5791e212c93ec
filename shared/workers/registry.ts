import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TokenStore } from '../auth/tokens.ts';
import { ROLES } from '../auth/types.ts';
import type { CommandsContext } from '../commands/context.ts';
import { workerKey } from '../commands/keys.ts';
import type { WorkerHeartbeatRequest, WorkerHeartbeatResponse } from '../commands/wire.ts';
import { WorkerExistsError, WorkerNotFoundError } from './errors.ts';
import { createWorkerQueue, deleteWorkerQueue } from './queues.ts';
import { HEARTBEAT_INTERVAL_MS, OFFLINE_AFTER_MS, PRESENCE } from './types.ts';
import type { Presence, RegisteredWorker, WorkerItem, WorkerView } from './types.ts';

/**
 * The worker registry (DESIGN.md section 5): registration (queue + token), presence heartbeats with the
 * command registry, and removal. All on the worker record, access pattern 6.
 */
function tokens(ctx: CommandsContext): TokenStore {
  return new TokenStore({ client: ctx.db, tableName: ctx.tableName });
}

export async function loadWorker(ctx: CommandsContext, name: string): Promise<WorkerItem | undefined> {
  const { Item } = await ctx.db.send(new GetCommand({ TableName: ctx.tableName, Key: workerKey(name) }));
  return Item as WorkerItem | undefined;
}

export function presenceOf(worker: WorkerItem, now: number): Presence {
  return worker.lastSeenAt !== undefined && now - worker.lastSeenAt < OFFLINE_AFTER_MS
    ? PRESENCE.online
    : PRESENCE.offline;
}

export function workerView(worker: WorkerItem, now: number): WorkerView {
  return {
    name: worker.name,
    queueUrl: worker.queueUrl,
    presence: presenceOf(worker, now),
    createdAt: new Date(worker.createdAt).toISOString(),
    lastSeenAt: worker.lastSeenAt === undefined ? null : new Date(worker.lastSeenAt).toISOString(),
    commands: worker.commands ?? [],
    concurrency: worker.concurrency ?? null,
    running: worker.running ?? null,
    version: worker.version ?? null,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    offlineAfterMs: OFFLINE_AFTER_MS,
  };
}

export async function getWorker(ctx: CommandsContext, name: string): Promise<WorkerView> {
  const worker = await loadWorker(ctx, name);
  if (!worker) throw new WorkerNotFoundError(name);
  return workerView(worker, ctx.now());
}

/**
 * Registers `name` (queue, token, record) or, with `rotate`, replaces an existing worker's token.
 * The queue comes first because CreateQueue is idempotent: a retry after any later failure finds it.
 */
export async function registerWorker(
  ctx: CommandsContext,
  request: { name: string; rotate?: boolean },
): Promise<RegisteredWorker> {
  const { name } = request;
  const queueUrl = await createWorkerQueue(ctx, name);
  const store = tokens(ctx);
  const issued = await store.issue({ role: ROLES.worker, worker: name });
  const item: WorkerItem = {
    ...workerKey(name),
    name,
    queueUrl,
    tokenHash: issued.hash,
    createdAt: ctx.now(),
  };
  // Race: two admins register the same new name.
  //   A: put(attribute_not_exists) ✓            B: put(attribute_not_exists) ✗ → B revokes its token, 409
  // The first put wins; the loser's token never worked for a stored record and is revoked.
  try {
    await ctx.db.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { name, token: issued.token, queueUrl };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    if (!request.rotate) {
      await store.revoke(issued.hash);
      throw new WorkerExistsError(name);
    }
    // ALL_OLD comes back in the low-level format (the DocumentClient does not unmarshall errors).
    const oldHash = error.Item?.tokenHash?.S;
    if (oldHash === undefined) throw error;
    return rotateToken(ctx, { name, queueUrl, oldHash, issued });
  }
}

async function rotateToken(
  ctx: CommandsContext,
  opts: { name: string; queueUrl: string; oldHash: string; issued: { token: string; hash: string } },
): Promise<RegisteredWorker> {
  const store = tokens(ctx);
  // Race: two admins rotate the same worker; both read old hash H.
  //   A: set tokenHash=A if tokenHash=H ✓ → revoke H      B: set tokenHash=B if tokenHash=H ✗ → revoke B, 409
  // The first rotation wins; exactly one new token survives and the old one is revoked.
  try {
    await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: workerKey(opts.name),
        UpdateExpression: 'SET tokenHash = :new, queueUrl = :queueUrl',
        ConditionExpression: 'tokenHash = :old',
        ExpressionAttributeValues: {
          ':new': opts.issued.hash,
          ':old': opts.oldHash,
          ':queueUrl': opts.queueUrl,
        },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    await store.revoke(opts.issued.hash);
    throw new WorkerExistsError(opts.name);
  }
  await store.revoke(opts.oldHash);
  return { name: opts.name, token: opts.issued.token, queueUrl: opts.queueUrl };
}

/** Removes the worker's record, token and queue. Its commands keep their records until they expire. */
export async function deleteWorker(ctx: CommandsContext, name: string): Promise<void> {
  const { Attributes } = await ctx.db.send(
    new DeleteCommand({ TableName: ctx.tableName, Key: workerKey(name), ReturnValues: 'ALL_OLD' }),
  );
  if (!Attributes) throw new WorkerNotFoundError(name);
  const worker = Attributes as WorkerItem;
  await tokens(ctx).revoke(worker.tokenHash);
  await deleteWorkerQueue(ctx, worker.queueUrl);
}

/**
 * Presence and command registry: one UpdateItem on the (small) worker record. Unconditional on content,
 * conditional only on existence so that a deleted worker's heartbeat does not resurrect a record.
 */
export async function recordHeartbeat(
  ctx: CommandsContext,
  name: string,
  request: WorkerHeartbeatRequest,
): Promise<WorkerHeartbeatResponse> {
  const values: Record<string, unknown> = { ':now': ctx.now(), ':commands': request.commands };
  const sets = ['lastSeenAt = :now', 'commands = :commands'];
  for (const field of ['concurrency', 'running', 'version'] as const) {
    if (request[field] !== undefined) {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = request[field];
    }
  }
  try {
    const { Attributes } = await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: workerKey(name),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { queueUrl: (Attributes as WorkerItem).queueUrl, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new WorkerNotFoundError(name);
    throw error;
  }
}
