// Owns the keys of the commands table's command items, one builder per access pattern (workers' keys: shared/workers/keys.ts).
/**
 * Keys of the commands table (infra/commands-table.yml), one builder per access pattern:
 *   1. Read / transition one command                        GetItem/UpdateItem pk=CMD#<id>  sk=CMD
 *   2. Store one batch of updates, once                      PutItem   pk=CMD#<id>  sk=UPD#<first seq, zero-padded>
 *   3. Read a command's updates after a seq, in order        Query     pk=CMD#<id>  sk between UPD#.. (ascending)
 *   4. Find overdue commands (watchdog), no scans            Query     GSI dueByDeadline: dueShard=DUE, deadline <= now
 *   5. List a worker's commands, newest first                Query     GSI byWorker: worker=<name>, createdAt desc
 *   6. Read / heartbeat one worker                           GetItem/UpdateItem pk=WORKER#<name> sk=WORKER  (shared/workers/keys.ts)
 *      6b. Its command registry, apart so a heartbeat stays 1 WCU  Put (only when it changed)  pk=WORKER#<name> sk=REGISTRY
 *          Read with the presence record in one Query on pk=WORKER#<name>.
 *   7. Resolve a bearer token (authorizer)                   GetItem   pk=TOKEN#<sha256 hex> sk=TOKEN  (shared/auth/tokens.ts)
 *   8. The watchdog's cursor over settled deadlines          GetItem/PutItem pk=WATCHDOG sk=CURSOR  (watchdog.ts)
 */
export interface ItemKey {
  pk: string;
  sk: string;
}

/** Zero-padded so that the sort key orders update batches by their first seq (seq < 10^12). */
export const SEQ_DIGITS = 12;
export const UPDATE_SK_PREFIX = 'UPD#';

export function padSeq(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0');
}

/** Pattern 1: the command record. */
export function commandKey(commandId: string): ItemKey {
  return { pk: `CMD#${commandId}`, sk: 'CMD' };
}

/** Pattern 2: the update batch whose first update has `firstSeq`. */
export function updateBatchKey(commandId: string, firstSeq: number): ItemKey {
  return { pk: `CMD#${commandId}`, sk: `${UPDATE_SK_PREFIX}${padSeq(firstSeq)}` };
}

/** Pattern 3: the sort-key bounds of a command's update batches (all of them: UPD#0… to UPD#9…). */
export function updateBatchRange(commandId: string): { pk: string; from: string; to: string } {
  return {
    pk: `CMD#${commandId}`,
    from: `${UPDATE_SK_PREFIX}${'0'.repeat(SEQ_DIGITS)}`,
    to: `${UPDATE_SK_PREFIX}${'9'.repeat(SEQ_DIGITS)}`,
  };
}

/** Pattern 4: the sparse GSI of pending deadlines; only commands with a deadline carry `dueShard`. */
export const DUE_INDEX = 'dueByDeadline';
export const DUE_SHARD = 'DUE';

/** Pattern 5: a worker's commands, newest first (KEYS_ONLY; the records are batch-read). */
export const BY_WORKER_INDEX = 'byWorker';

/**
 * Pattern 8: how far along dueByDeadline the watchdog has found every entry settled (`passed`, epoch ms),
 * so that finished commands, which keep their entry until TTL, are not read again on every run.
 */
export function watchdogCursorKey(): ItemKey {
  return { pk: 'WATCHDOG', sk: 'CURSOR' };
}
