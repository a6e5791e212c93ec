import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TokenStore } from '../auth/tokens.ts';
import { ROLES } from '../auth/types.ts';
import type { CommandsContext } from '../commands/context.ts';
import { workerKey, workerRegistryKey } from '../commands/keys.ts';
import type { WorkerHeartbeatRequest, WorkerHeartbeatResponse } from '../commands/wire.ts';
import { WorkerExistsError, WorkerNotFoundError } from './errors.ts';
import { createWorkerQueue, deleteWorkerQueue } from './queues.ts';
import { HEARTBEAT_INTERVAL_MS, OFFLINE_AFTER_MS, PRESENCE } from './types.ts';
import type {
  LoadedWorker,
  Presence,
  RegisteredWorker,
  WorkerItem,
  WorkerRegistryItem,
  WorkerView,
} from './types.ts';

/**
 * The worker registry (DESIGN.md section 5): registration (queue + token), presence heartbeats with the
 * command registry, and removal. All on the worker record, access pattern 6.
 */
function tokens(ctx: CommandsContext): TokenStore {
  return new TokenStore({ client: ctx.db, tableName: ctx.tableName });
}

/** The worker record alone (presence, queue): what the watchdog and interrupts need. */
export async function loadWorkerRecord(ctx: CommandsContext, name: string): Promise<WorkerItem | undefined> {
  const { Item } = await ctx.db.send(new GetCommand({ TableName: ctx.tableName, Key: workerKey(name) }));
  return Item as WorkerItem | undefined;
}

/**
 * The worker record and its command registry, in one Query on the worker's pk (patterns 6 and 6b). The
 * registry counts only when its hash is the one the record names: a registry left by a deleted worker
 * of the same name is ignored until the new worker's first heartbeat replaces it.
 */
export async function loadWorker(ctx: CommandsContext, name: string): Promise<LoadedWorker | undefined> {
  const { Items = [] } = await ctx.db.send(
    new QueryCommand({
      TableName: ctx.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': workerKey(name).pk },
    }),
  );
  const record = Items.find((item) => item.sk === workerKey(name).sk) as WorkerItem | undefined;
  if (!record) return undefined;
  const registry = Items.find((item) => item.sk === workerRegistryKey(name).sk) as
    WorkerRegistryItem | undefined;
  const loaded: LoadedWorker = { ...record };
  if (registry && record.commandsHash !== undefined && registry.commandsHash === record.commandsHash)
    loaded.commands = registry.commands;
  return loaded;
}

/**
 * How long startCommand trusts a worker record it read, per process (a Lambda instance). Presence is
 * judged on the record's lastSeenAt against OFFLINE_AFTER_MS (a heartbeat every HEARTBEAT_INTERVAL_MS),
 * so a record this young calls a worker online at most this much longer than a fresh read would; a
 * removed worker's queue refuses the send, which withdraws the command as before. @default 1000
 */
export const WORKER_CACHE_MS = 1_000;

const workerCache = new Map<string, { worker: LoadedWorker; readAt: number }>();

function workerCacheKey(ctx: CommandsContext, name: string): string {
  return `${ctx.tableName}\u0000${name}`;
}

/**
 * The worker record for dispatch: a record read less than WORKER_CACHE_MS ago when it says the worker is
 * online and has registered `command`; anything else (unknown, offline, not registered) is read afresh,
 * so a cached record only ever saves the read on the path that dispatches.
 */
export async function loadWorkerForDispatch(
  ctx: CommandsContext,
  name: string,
  command: string,
): Promise<LoadedWorker | undefined> {
  const key = workerCacheKey(ctx, name);
  const now = ctx.now();
  const cached = workerCache.get(key);
  if (
    cached !== undefined &&
    now - cached.readAt < WORKER_CACHE_MS &&
    presenceOf(cached.worker, now) === PRESENCE.online &&
    cached.worker.commands?.includes(command) === true
  )
    return cached.worker;
  const worker = await loadWorker(ctx, name);
  if (worker === undefined) workerCache.delete(key);
  else workerCache.set(key, { worker, readAt: now });
  return worker;
}

/** The hash a heartbeat compares with the stored one to tell whether the registry changed. */
export function commandsHash(commands: string[]): string {
  return createHash('sha256').update(JSON.stringify(commands), 'utf8').digest('base64url').slice(0, 22);
}

export function presenceOf(worker: WorkerItem, now: number): Presence {
  return worker.lastSeenAt !== undefined && now - worker.lastSeenAt < OFFLINE_AFTER_MS
    ? PRESENCE.online
    : PRESENCE.offline;
}

export function workerView(worker: LoadedWorker, now: number): WorkerView {
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

/** Removes the worker's record, registry, token and queue. Its commands keep their records until they expire. */
export async function deleteWorker(ctx: CommandsContext, name: string): Promise<void> {
  // This process's dispatch cache forgets it at once; other instances within WORKER_CACHE_MS (the send fails).
  workerCache.delete(workerCacheKey(ctx, name));
  const { Attributes } = await ctx.db.send(
    new DeleteCommand({ TableName: ctx.tableName, Key: workerKey(name), ReturnValues: 'ALL_OLD' }),
  );
  if (!Attributes) throw new WorkerNotFoundError(name);
  const worker = Attributes as WorkerItem;
  // After the record: a heartbeat in between fails its existence condition and writes no registry.
  await ctx.db.send(new DeleteCommand({ TableName: ctx.tableName, Key: workerRegistryKey(name) }));
  await tokens(ctx).revoke(worker.tokenHash);
  await deleteWorkerQueue(ctx, worker.queueUrl);
}

/**
 * Presence: one small UpdateItem on the worker record (1 WCU), conditional only on existence so that a
 * deleted worker's heartbeat does not resurrect it. The command registry is written only when its hash
 * differs from the one the record holds (a worker's first heartbeat, or a restart with other commands).
 */
export async function recordHeartbeat(
  ctx: CommandsContext,
  name: string,
  request: WorkerHeartbeatRequest,
): Promise<WorkerHeartbeatResponse> {
  const values: Record<string, unknown> = { ':now': ctx.now() };
  const sets = ['lastSeenAt = :now'];
  for (const field of ['concurrency', 'running', 'version'] as const) {
    if (request[field] !== undefined) {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = request[field];
    }
  }
  let before: WorkerItem;
  try {
    const { Attributes } = await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: workerKey(name),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
        // The old record names the stored registry's hash; the return values cost no write units.
        ReturnValues: 'ALL_OLD',
      }),
    );
    before = Attributes as WorkerItem;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) throw new WorkerNotFoundError(name);
    throw error;
  }
  const hash = commandsHash(request.commands);
  if (before.commandsHash !== hash) await storeRegistry(ctx, name, request.commands, hash);
  return { queueUrl: before.queueUrl, heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS };
}

/**
 * Writes the registry and the record's hash of it in one transaction, so that the hash on the record is
 * always the hash of the stored registry, and a worker deleted meanwhile gets no orphan registry.
 */
async function storeRegistry(
  ctx: CommandsContext,
  name: string,
  commands: string[],
  hash: string,
): Promise<void> {
  const registry: WorkerRegistryItem = { ...workerRegistryKey(name), commands, commandsHash: hash };
  // Race: two heartbeats of the same name bring different lists (two processes share one worker's token).
  //   A: transact(registry A, record hash A) ✓            B: transact(registry B, record hash B) ✓ later
  // Both commit whole, in some order: the last one wins both items, and the other's next heartbeat sees a
  // hash that is not its own and writes again. A transaction that meets the other in flight is cancelled
  // (TransactionConflict) and its heartbeat fails; the worker's next one retries.
  try {
    await ctx.db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: ctx.tableName, Item: registry } },
          {
            Update: {
              TableName: ctx.tableName,
              Key: workerKey(name),
              UpdateExpression: 'SET commandsHash = :hash',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':hash': hash },
            },
          },
        ],
      }),
    );
  } catch (error) {
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed'
    )
      throw new WorkerNotFoundError(name);
    throw error;
  }
}
