// Owns reading worker records: the record alone, the record with its command registry, the dispatch cache, and presence.
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { itemDecoder } from '../aws/conditionalWrite.ts';
import { perObject } from '../memo.ts';
import type { WorkersContext } from './context.ts';
import { workerKey, workerRegistryKey } from './keys.ts';
import { HEARTBEAT_INTERVAL_MS, OFFLINE_AFTER_MS, PRESENCE } from './types.ts';
import type { LoadedWorker, Presence, WorkerItem, WorkerRegistryItem, WorkerView } from './types.ts';

/** Checks and types a worker record (access pattern 6) that a conditional write returns. */
export const asWorkerItem = itemDecoder<WorkerItem>('worker record', {
  pk: 'string',
  sk: 'string',
  name: 'string',
  queueUrl: 'string',
  tokenHash: 'string',
  createdAt: 'number',
  lastSeenAt: 'number?',
  commandsHash: 'string?',
  infoHash: 'string?',
  concurrency: 'number?',
  running: 'number?',
  version: 'string?',
});

/** The worker record alone (presence, queue): what the watchdog and interrupts need. */
export async function loadWorkerRecord(ctx: WorkersContext, name: string): Promise<WorkerItem | undefined> {
  const { Item } = await ctx.db.send(new GetCommand({ TableName: ctx.tableName, Key: workerKey(name) }));
  return Item as WorkerItem | undefined;
}

/**
 * The worker record and its command registry, in one Query on the worker's pk (patterns 6 and 6b). The
 * registry counts only when its hash is the one the record names: a registry left by a deleted worker
 * of the same name is ignored until the new worker's first heartbeat replaces it.
 */
export async function loadWorker(ctx: WorkersContext, name: string): Promise<LoadedWorker | undefined> {
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
  // The info likewise: only what this worker's heartbeats stored, as the record's hash names it.
  if (registry?.info && record.infoHash !== undefined && registry.infoHash === record.infoHash)
    loaded.info = registry.info;
  return loaded;
}

/**
 * How long startCommand trusts a worker record it read, per process (a Lambda instance). Presence is
 * judged on the record's lastSeenAt against OFFLINE_AFTER_MS (a heartbeat every HEARTBEAT_INTERVAL_MS),
 * so a record this young calls a worker online at most this much longer than a fresh read would; a
 * removed worker's queue refuses the send, which withdraws the command as before. @default 1000
 */
export const WORKER_CACHE_MS = 1_000;

/** A record as dispatch read it, and when. */
interface CachedWorker {
  worker: LoadedWorker;
  readAt: number;
}

/**
 * Each context's cache (a Lambda has one context for the life of its container; two local stacks in one
 * process have two): worker name → the record dispatch last read.
 */
const workerCacheOf = perObject<WorkersContext, Map<string, CachedWorker>>(() => new Map());

/**
 * The worker record for dispatch: a record read less than WORKER_CACHE_MS ago when it says the worker is
 * online and has registered `command`; anything else (unknown, offline, not registered) is read afresh,
 * so a cached record only ever saves the read on the path that dispatches.
 */
export async function loadWorkerForDispatch(
  ctx: WorkersContext,
  name: string,
  command: string,
): Promise<LoadedWorker | undefined> {
  const workerCache = workerCacheOf(ctx);
  const now = ctx.now();
  const cached = workerCache.get(name);
  if (
    cached !== undefined &&
    now - cached.readAt < WORKER_CACHE_MS &&
    presenceOf(cached.worker, now) === PRESENCE.online &&
    cached.worker.commands?.includes(command) === true
  )
    return cached.worker;
  const worker = await loadWorker(ctx, name);
  if (worker === undefined) workerCache.delete(name);
  else workerCache.set(name, { worker, readAt: now });
  return worker;
}

/** Drops this context's cached record of `name` (a removed worker). */
export function forgetWorker(ctx: WorkersContext, name: string): void {
  workerCacheOf(ctx).delete(name);
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
    info: worker.info ?? null,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    offlineAfterMs: OFFLINE_AFTER_MS,
  };
}
