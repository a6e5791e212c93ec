// Owns the watchdog's numbers, what a container remembers between runs, and what a run reports.

/**
 * How far each shard's cursor stays behind the watchdog's clock: more than clock skew between Lambdas (Amazon
 * Time Sync keeps it under a millisecond) plus index propagation (under a second normally) can ever be. Settled
 * entries this recent are queried again on each run (keys only, about 70 bytes each) but read only once per
 * warm container (WatchdogMemory). @default 30 s
 */
export const CURSOR_LAG_MS = 30_000;
/**
 * A shard's cursor is persisted once it has moved this far past entries since its last write (one write per
 * busy minute and shard); a fresh container starts from the persisted one and reads again at most this much.
 * @default 60 s
 */
export const CURSOR_PERSIST_STEP_MS = 60_000;
/** Settled entries remembered per shard and container, beyond which that memory starts afresh (costing reads only). */
export const SETTLED_MEMORY_MAX = 20_000;
/**
 * Runs in which one entry's record may be at fault (isRecordFault: it does not decode, or DynamoDB refuses
 * any write to it) before the cursor passes it as given up: such a record would otherwise hold its shard's
 * cursor, and with it every later entry of the shard, for ever. Any other failure (a throttle, an outage) is
 * skipped and tried again on every run, never given up. @default 3
 */
export const ENTRY_ATTEMPTS = 3;
/** Time kept back from the function's remaining time, for the endings under way when a run stops reading. */
export const RUN_MARGIN_MS = 15_000;

/** One shard's part of what a warm container remembers (see WatchdogMemory). */
export interface ShardMemory {
  /** The shard's cursor as this container last computed it; undefined until read from the table. */
  passed?: number;
  /** The shard's cursor as last written to (or read from) the table. */
  persisted?: number;
  /** Entries above the cursor found settled (pk#deadline → deadline): not read again. */
  settled: Map<string, number>;
  /** Failed attempts per entry (pk#deadline), apart from `settled` so that it stays a cost-saver only. */
  failures: Map<string, number>;
}

/**
 * What a warm container keeps between runs, per context (a Lambda's context lives as long as its container;
 * a test's context with a shifted clock gets its own), one part per shard. Only a cost-saver: the persisted
 * cursors and the records are the truth, and a fresh memory just reads more.
 */
export interface WatchdogMemory {
  shards: Map<string, ShardMemory>;
}

export function newWatchdogMemory(): WatchdogMemory {
  return { shards: new Map() };
}

export function shardMemory(memory: WatchdogMemory, shard: string): ShardMemory {
  let part = memory.shards.get(shard);
  if (!part) {
    part = { settled: new Map(), failures: new Map() };
    memory.shards.set(shard, part);
  }
  return part;
}

/** One run over one shard. */
export interface ShardReport {
  /** Index entries the shard's queries returned. */
  scanned: number;
  /** The shard's cursor after the run. */
  passed: number;
  /** Whether the run read the shard up to its `now` (false: it stopped for time, the next run goes on). */
  exhausted: boolean;
}

export interface WatchdogReport {
  /** Records read and judged (settled entries remembered from an earlier run are not read). */
  examined: number;
  ended: Record<string, number>;
  resent: number;
  /** Running commands found due before a heartbeat timeout had passed since their claim: deadline moved. */
  extended: number;
  /** Index entries returned by the queries (settled or not), all shards. */
  scanned: number;
  /** The furthest-behind shard's cursor after the run. */
  passed: number;
  /** The run's clock minus `passed`: the cursor lag it publishes (at least CURSOR_LAG_MS). */
  lagMs: number;
  /** Entries whose command could not be judged or ended (logged and skipped; see ENTRY_ATTEMPTS). */
  failed: number;
  /** Pages read, all shards: each is one Query and at most one BatchGetItem. */
  pages: number;
  /** Whether every shard was read up to the run's `now`. */
  exhausted: boolean;
  /** Milliseconds the run took. */
  tookMs: number;
  shards: Record<string, ShardReport>;
}

/** An entry of dueByDeadline (KEYS_ONLY: the table's keys and the index's). */
export interface DueEntry {
  shard: string;
  pk: string;
  sk: string;
  deadline: number;
}

export function entryId(entry: DueEntry): string {
  return `${entry.pk}#${entry.deadline}`;
}
