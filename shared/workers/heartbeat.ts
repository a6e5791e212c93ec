// Owns POST /v1/workers/{name}/heartbeat: the worker's presence, and its command registry and info when they changed.
import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalUpdate } from '../aws/conditionalWrite.ts';
import type { WorkersContext } from './context.ts';
import type { CredentialsVendor } from './credentials.ts';
import { WorkerNotFoundError } from './errors.ts';
import { workerKey, workerRegistryKey } from './keys.ts';
import { asWorkerItem } from './records.ts';
import { HEARTBEAT_INTERVAL_MS } from './types.ts';
import type { HeartbeatAnswer, WorkerInfo, WorkerReport } from './types.ts';

function shortHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value), 'utf8').digest('base64url').slice(0, 22);
}

/** The hash a heartbeat compares with the stored one to tell whether the registry changed. */
export function commandsHash(commands: string[]): string {
  return shortHash(commands);
}

/**
 * The hash of a worker's info, as the worker sent it (key order included: one worker sends its info the same
 * way each time, and a different order only costs one more write).
 */
export function infoHash(info: WorkerInfo): string {
  return shortHash(info);
}

/** What changed since the stored registry: the commands (always sent), the info (sent when it changed). */
interface RegistryChange {
  commands?: { commands: string[]; commandsHash: string };
  info?: { info: WorkerInfo; infoHash: string };
}

/**
 * Presence: one small UpdateItem on the worker record (1 WCU), conditional only on existence so that a
 * deleted worker's heartbeat does not resurrect it. The command registry is written only when its hash
 * differs from the one the record holds (a worker's first heartbeat, or a restart with other commands).
 * Queue credentials are vended only when the worker asks (`credentials: true`, about once an hour), after
 * the presence is recorded, and only to a worker that exists.
 */
export async function recordHeartbeat(
  ctx: WorkersContext,
  name: string,
  report: WorkerReport,
  vendor?: CredentialsVendor,
): Promise<HeartbeatAnswer> {
  const values: Record<string, unknown> = { ':now': ctx.now() };
  const sets = ['lastSeenAt = :now'];
  for (const field of ['concurrency', 'running', 'version'] as const) {
    if (report[field] !== undefined) {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = report[field];
    }
  }
  const outcome = await conditionalUpdate(ctx.db, {
    tableName: ctx.tableName,
    key: workerKey(name),
    update: `SET ${sets.join(', ')}`,
    condition: { workerExists: 'attribute_exists(pk)' },
    values,
    // The old record names the stored registry's hash; the return values cost no write units.
    returns: 'ALL_OLD',
    decode: asWorkerItem,
  });
  if (!outcome.won) throw new WorkerNotFoundError(name);
  const before = outcome.item;
  const change: RegistryChange = {};
  const hash = commandsHash(report.commands);
  if (before.commandsHash !== hash) change.commands = { commands: report.commands, commandsHash: hash };
  const info = report.info === undefined ? undefined : infoHash(report.info);
  if (report.info !== undefined && info !== undefined && before.infoHash !== info)
    change.info = { info: report.info, infoHash: info };
  const [queueAccess] = await Promise.all([
    report.credentials && vendor ? vendor.vend(ctx, name) : undefined,
    change.commands || change.info ? storeRegistry(ctx, name, change) : undefined,
  ]);
  return {
    queueUrl: before.queueUrl,
    heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
    ...(queueAccess ? { queueAccess } : {}),
  };
}

/**
 * Writes the registry and the record's hash of it in one transaction, so that the hash on the record is
 * always the hash of the stored registry, and a worker deleted meanwhile gets no orphan registry. (A
 * transaction, not a single conditional write: its condition failure comes back per item, not as ALL_OLD.)
 * Only the parts that changed are set: a heartbeat without info keeps the stored info, and info that changed
 * alone leaves the commands as they are. The registry item is an update, so it is made on the first write.
 */
async function storeRegistry(ctx: WorkersContext, name: string, change: RegistryChange): Promise<void> {
  const registry = setClause({ ...change.commands, ...change.info });
  const hashes = setClause({
    ...(change.commands ? { commandsHash: change.commands.commandsHash } : {}),
    ...(change.info ? { infoHash: change.info.infoHash } : {}),
  });
  // Race: two heartbeats of the same name bring different lists (two processes share one worker's token).
  //   A: transact(registry A, record hash A) ✓            B: transact(registry B, record hash B) ✓ later
  // Both commit whole, in some order: the last one wins both items, and the other's next heartbeat sees a
  // hash that is not its own and writes again. A transaction that meets the other in flight is cancelled
  // (TransactionConflict) and its heartbeat fails; the worker's next one retries.
  try {
    await ctx.db.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: ctx.tableName,
              Key: workerRegistryKey(name),
              ...registry,
            },
          },
          {
            Update: {
              TableName: ctx.tableName,
              Key: workerKey(name),
              ...hashes,
              ConditionExpression: 'attribute_exists(pk)',
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

/** `SET #a = :a, ...` for each field (names through placeholders: `info` and others may be reserved words). */
function setClause(fields: Record<string, unknown>): {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
} {
  const names = Object.keys(fields);
  return {
    UpdateExpression: `SET ${names.map((field) => `#${field} = :${field}`).join(', ')}`,
    ExpressionAttributeNames: Object.fromEntries(names.map((field) => [`#${field}`, field])),
    ExpressionAttributeValues: Object.fromEntries(names.map((field) => [`:${field}`, fields[field]])),
  };
}
