// Owns the keys of the commands table's command items, one builder per access pattern (workers' keys: shared/workers/keys.ts).
import * as LIMITS from '../limits.ts';

/**
 * Keys of the commands table (infra/commands-table.yml), one builder per access pattern:
 *   1. Read / transition one command                        GetItem/UpdateItem pk=CMD#<id>  sk=CMD
 *   2. Store one batch of updates, once                      PutItem   pk=CMD#<id>  sk=UPD#<first seq, zero-padded>
 *   3. Read a command's updates after a seq, in order        Query     pk=CMD#<id>  sk between UPD#.. (ascending)
 *   4. Find overdue commands (watchdog), no scans            Query     GSI dueByDeadline: dueShard=DUE#<k>, deadline <= now
 *      One Query per shard k = 0..N-1 (a hash of the command id), and one on the legacy shard DUE.
 *   5. List a worker's commands, newest first                Query     GSI byWorker: worker=<name>, createdAt desc
 *   6. Read / heartbeat one worker                           GetItem/UpdateItem pk=WORKER#<name> sk=WORKER  (shared/workers/keys.ts)
 *      6b. Its command registry, apart so a heartbeat stays 1 WCU  Put (only when it changed)  pk=WORKER#<name> sk=REGISTRY
 *          Read with the presence record in one Query on pk=WORKER#<name>.
 *   7. Resolve a bearer token (authorizer)                   GetItem   pk=TOKEN#<sha256 hex> sk=TOKEN  (shared/auth/tokens.ts)
 *   8. The watchdog's cursors over settled deadlines, one a shard   BatchGetItem/PutItem pk=WATCHDOG sk=CURSOR#DUE#<k>
 *      (the legacy shard's is sk=CURSOR, as it was before the index was sharded)  (watchdogCursor.ts)
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
/**
 * The one shard every entry had before the index was sharded. Records written then keep it until they expire:
 * a deadline move sets `deadline` only, so an entry never changes shard, and the watchdog queries this shard
 * too (docs/commands.md, "Sharded deadlines"). Nothing new is written to it.
 */
export const LEGACY_DUE_SHARD = 'DUE';
export const DUE_SHARD_PREFIX = 'DUE#';

/**
 * FNV-1a (32 bits) of the command id: ids are random or sha256 hex, so any fixed hash spreads them evenly; this
 * one is a few lines and the same in every process, for ever (a command's shard must never change).
 */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard of a command's deadline entry, `DUE#0` to `DUE#<shards-1>`, written once with the record. */
export function dueShardOf(commandId: string, shards: number = LIMITS.dueShards): string {
  return `${DUE_SHARD_PREFIX}${fnv1a(commandId) % shards}`;
}

/** Every shard the watchdog queries: DUE#0 to DUE#<shards-1>, then the legacy DUE. */
export function dueShards(shards: number = LIMITS.dueShards): string[] {
  return [...Array.from({ length: shards }, (_, k) => `${DUE_SHARD_PREFIX}${k}`), LEGACY_DUE_SHARD];
}

/** Pattern 5: a worker's commands, newest first (KEYS_ONLY; the records are batch-read). */
export const BY_WORKER_INDEX = 'byWorker';

/**
 * Pattern 8: how far along one shard of dueByDeadline the watchdog has found every entry settled (`passed`,
 * epoch ms), so that finished commands, which keep their entry until TTL, are not read again on every run.
 * The legacy shard keeps the key the single cursor had, so a deploy carries its cursor over.
 */
export function watchdogCursorKey(shard: string): ItemKey {
  return { pk: 'WATCHDOG', sk: shard === LEGACY_DUE_SHARD ? 'CURSOR' : `CURSOR#${shard}` };
}
