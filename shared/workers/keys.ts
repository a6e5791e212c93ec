// Owns the keys of worker items in the commands table (access patterns 6 and 6b of shared/commands/keys.ts), and worker queues' names.
import type { WorkersContext } from './context.ts';

/**
 * Keys of the worker items (infra/commands-table.yml), one builder per access pattern:
 *   6. Read / heartbeat one worker                           GetItem/UpdateItem pk=WORKER#<name> sk=WORKER
 *      6b. Its command registry, apart so a heartbeat stays 1 WCU  Put (only when it changed)  pk=WORKER#<name> sk=REGISTRY
 *          Read with the presence record in one Query on pk=WORKER#<name>.
 *      6c. List the workers, oldest registration first        Query     GSI byWorker: worker=WORKER_LIST_PARTITION
 *          The worker record carries worker=WORKER_LIST_PARTITION beside its createdAt (both byWorker keys). No
 *          worker is named so (the name pattern has no '#'), so no command list meets it; the index is keys-only
 *          and no heartbeat changes a key, so only registration, rotation and removal write that partition.
 */

/** Pattern 6: the worker record (presence, queue, token hash, the hash of its command registry). */
export function workerKey(name: string): { pk: string; sk: string } {
  return { pk: `WORKER#${name}`, sk: 'WORKER' };
}

/** Pattern 6c: the byWorker partition that lists the workers (not a worker name: names cannot hold '#'). */
export const WORKER_LIST_PARTITION = '#WORKERS';

/** Pattern 6c: what a worker record carries to be listed (its createdAt is the sort key). */
export function workerListEntry(): { worker: string } {
  return { worker: WORKER_LIST_PARTITION };
}

/**
 * Pattern 6b: the worker's command registry (up to 100 names, some KB). DynamoDB bills an update by the
 * larger of the old and new item, so on the presence record it would make every heartbeat cost that much.
 */
export function workerRegistryKey(name: string): { pk: string; sk: string } {
  return { pk: `WORKER#${name}`, sk: 'REGISTRY' };
}

/** A worker's SQS queue name (made when it registers: queues.ts; named in its credentials: credentials.ts). */
export function workerQueueName(ctx: WorkersContext, name: string): string {
  return `${ctx.workerQueuePrefix}${name}`;
}
