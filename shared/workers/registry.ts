// Owns POST /v1/workers (register, rotate a token), GET /v1/workers/{name} and DELETE /v1/workers/{name} (the list: list.ts).
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../aws/errors.ts';
import { conditionalPut, conditionalUpdate } from '../aws/conditionalWrite.ts';
import { TokenStore } from '../auth/tokens.ts';
import { ROLES } from '../auth/types.ts';
import type { WorkersContext } from './context.ts';
import { WorkerExistsError, WorkerNotFoundError } from './errors.ts';
import { workerKey, workerListEntry, workerRegistryKey } from './keys.ts';
import { checkWorkerNameFits, createWorkerQueue, deleteWorkerQueue } from './queues.ts';
import { asWorkerItem, forgetWorker, loadWorker, workerView } from './records.ts';
import type { RegisteredWorker, WorkerItem, WorkerView } from './types.ts';

/**
 * The worker registry (docs/worker.md): registration (queue + token) and removal, on the worker
 * record, access pattern 6. Presence heartbeats are in heartbeat.ts, reads of the record in records.ts.
 */
function tokens(ctx: WorkersContext): TokenStore {
  return new TokenStore({ client: ctx.db, tableName: ctx.tableName });
}

export async function getWorker(ctx: WorkersContext, name: string): Promise<WorkerView> {
  const worker = await loadWorker(ctx, name);
  if (!worker) throw new WorkerNotFoundError(name);
  return workerView(worker, ctx.now());
}

/**
 * Registers `name` (queue, token, record) or, with `rotate`, replaces an existing worker's token.
 * The queue comes first because CreateQueue is idempotent: a retry after any later failure finds it.
 */
export async function registerWorker(
  ctx: WorkersContext,
  request: { name: string; rotate?: boolean },
): Promise<RegisteredWorker> {
  const { name } = request;
  checkWorkerNameFits(ctx, name);
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
  const outcome = await conditionalPut(ctx.db, {
    tableName: ctx.tableName,
    item: { ...item, ...workerListEntry() },
    condition: { nameFree: 'attribute_not_exists(pk)' },
    decode: asWorkerItem,
  });
  if (outcome.won) return { name, token: issued.token, queueUrl };
  if (!request.rotate) {
    await store.revoke(issued.hash);
    throw new WorkerExistsError(name);
  }
  if (outcome.old === undefined) throw new ConditionFailedError(`registering worker ${name}`, outcome);
  return rotateToken(ctx, { name, queueUrl, oldHash: outcome.old.tokenHash, issued });
}

async function rotateToken(
  ctx: WorkersContext,
  opts: { name: string; queueUrl: string; oldHash: string; issued: { token: string; hash: string } },
): Promise<RegisteredWorker> {
  const store = tokens(ctx);
  // Race: two admins rotate the same worker; both read old hash H.
  //   A: set tokenHash=A if tokenHash=H ✓ → revoke H      B: set tokenHash=B if tokenHash=H ✗ → revoke B, 409
  // The first rotation wins; exactly one new token survives and the old one is revoked.
  const outcome = await conditionalUpdate(ctx.db, {
    tableName: ctx.tableName,
    key: workerKey(opts.name),
    // The list entry too (pattern 6c): a worker registered before GET /v1/workers is listed once rotated.
    update: 'SET tokenHash = :new, queueUrl = :queueUrl, worker = :list',
    condition: { tokenUnchanged: 'tokenHash = :old' },
    values: {
      ':new': opts.issued.hash,
      ':old': opts.oldHash,
      ':queueUrl': opts.queueUrl,
      ':list': workerListEntry().worker,
    },
    decode: asWorkerItem,
  });
  if (!outcome.won) {
    await store.revoke(opts.issued.hash);
    throw new WorkerExistsError(opts.name);
  }
  await store.revoke(opts.oldHash);
  return { name: opts.name, token: opts.issued.token, queueUrl: opts.queueUrl };
}

/** Removes the worker's record, registry, token and queue. Its commands keep their records until they expire. */
export async function deleteWorker(ctx: WorkersContext, name: string): Promise<void> {
  // This process's dispatch cache forgets it at once; other instances within WORKER_CACHE_MS (the send fails).
  forgetWorker(ctx, name);
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
