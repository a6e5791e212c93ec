// Owns this process's short-lived copies of the command records it just wrote, which save complete its read.
import { perObject } from '../memo.ts';
import type { CommandsContext } from './context.ts';
import type { CommandItem } from './items.ts';

/**
 * The command records this process last wrote (a claim, an update's ack, a heartbeat: each returns the
 * whole record), kept briefly so that the complete that follows saves its read: a short command's
 * claim and complete are a few ms apart, and the read is on the path a client waits for.
 *
 * A copy can be stale (another instance stored updates, an interrupt was flagged, the watchdog ended
 * the command). That is safe because the worker's ending write is conditioned on everything its decision
 * read from the record (status, acked, deadline, interrupt): a stale copy loses that race like a stale
 * read would, and the loser decides again from the current record the failed write returns (ALL_OLD).
 * On AWS a complete finds its record here only when the same warm instance served the command's last
 * claim or update; otherwise it reads, as before.
 */
export const RECORD_CACHE = {
  /** How long a copy is used. Short commands are far below it; longer ones read. @default 5000 ms */
  ttlMs: 5_000,
  /** Copies kept; the oldest goes first. @default 1000 */
  maxEntries: 1_000,
} as const;

interface Entry {
  item: CommandItem;
  at: number;
}

/** Each context's copies (one context per environment: a Lambda's container, or one local stack), by command id. */
const entriesOf = perObject<CommandsContext, Map<string, Entry>>(() => new Map());

export function rememberRecord(ctx: CommandsContext, item: CommandItem): void {
  const entries = entriesOf(ctx);
  // Re-inserting moves the key to the end: the map's order is the order of last writes.
  entries.delete(item.commandId);
  entries.set(item.commandId, { item, at: ctx.now() });
  for (const oldest of entries.keys()) {
    if (entries.size <= RECORD_CACHE.maxEntries) break;
    entries.delete(oldest);
  }
}

/** The record as this context last wrote it, if that was less than RECORD_CACHE.ttlMs ago. */
export function recentRecord(ctx: CommandsContext, commandId: string): CommandItem | undefined {
  const entries = entriesOf(ctx);
  const entry = entries.get(commandId);
  if (entry === undefined) return undefined;
  if (ctx.now() - entry.at >= RECORD_CACHE.ttlMs) {
    entries.delete(commandId);
    return undefined;
  }
  return entry.item;
}

export function forgetRecord(ctx: CommandsContext, commandId: string): void {
  entriesOf(ctx).delete(commandId);
}
