// Owns the command record: its shape, its checked decoding, its size as billed, its read, and its views.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalUpdate, itemDecoder } from '../aws/conditionalWrite.ts';
import { ItemDecodeError } from '../aws/errors.ts';
import type { Condition, WriteOutcome } from '../aws/conditionalWrite.ts';
import { ForbiddenError } from '../errors.ts';
import type { CommandsContext } from './context.ts';
import { CommandNotFoundError } from './errors.ts';
import { commandKey } from './keys.ts';
import type { StoredRun } from './runs.ts';
import type { CommandFailure, CommandStatus, Results } from './types.ts';
import type { CommandView, CompletionEvent } from './wire.ts';

/**
 * The command record (access pattern 1). It holds no output: every transition rewrites it and DynamoDB
 * bills writes per KB of the larger of the old and new item, so it stays well under 1 KB for usual args.
 */
export interface CommandItem {
  pk: string;
  sk: string;
  commandId: string;
  /** The byWorker GSI's partition key (pattern 5). */
  worker: string;
  command: string;
  /** JSON text: DynamoDB numbers cannot hold every JSON number. */
  argsJson: string;
  decodeRC: Record<string, number>;
  status: CommandStatus;
  /** Milliseconds; the byWorker GSI's sort key. */
  createdAt: number;
  startedAt?: number;
  /** The worker's name for the claim that started it (POST .../start): a retry with it gets the claim back. */
  claimToken?: string;
  completedAt?: number;
  /** The client's timeouts (or the defaults) in milliseconds, so that an update can add them to now. */
  startTimeoutMs: number;
  heartbeatTimeoutMs: number;
  /** Highest contiguous update seq stored; -1 before any. */
  acked: number;
  rc?: number;
  elapsed?: number;
  failure_reason?: string;
  results?: Results;
  failure?: CommandFailure;
  interrupt?: { why: string; at: number };
  /** Names of `{log: [name, text]}` logs seen so far. */
  logNames?: Set<string>;
  /** Names of the secrets it was started with (their values are never stored: secrets.ts). */
  secretNames?: Set<string>;
  /**
   * Pattern 4, sparse: set at creation (start, heartbeat, or event re-send time). A finished command keeps it
   * until TTL; the watchdog's cursor passes such settled entries once (shared/commands/watchdog.ts).
   */
  dueShard?: string;
  deadline?: number;
  /** The completion event may not have been sent yet; the watchdog re-sends it after `deadline`. */
  eventPending?: boolean;
  /** TTL (seconds), set when the command finishes. */
  expiresAt?: number;
  /**
   * The final run a complete carried, stored by the ending write itself when the record stays within
   * RECORD_BILLED_BYTES: its seqs follow every stored run's, and readers serve it after them.
   */
  finalRun?: StoredRun;
}

/** Checks and types a command record that a conditional write returns (the new record, or ALL_OLD). */
export const asCommandItem = itemDecoder<CommandItem>('command record', {
  pk: 'string',
  sk: 'string',
  commandId: 'string',
  worker: 'string',
  command: 'string',
  argsJson: 'string',
  decodeRC: 'map',
  status: 'string',
  createdAt: 'number',
  startedAt: 'number?',
  claimToken: 'string?',
  completedAt: 'number?',
  startTimeoutMs: 'number',
  heartbeatTimeoutMs: 'number',
  acked: 'number',
  rc: 'number?',
  elapsed: 'number?',
  failure_reason: 'string?',
  results: 'number?',
  failure: 'map?',
  interrupt: 'map?',
  logNames: 'stringSet?',
  secretNames: 'stringSet?',
  dueShard: 'string?',
  deadline: 'number?',
  eventPending: 'boolean?',
  expiresAt: 'number?',
  finalRun: 'map?',
});

/**
 * A conditional update of the command record (access pattern 1), returning the record after it (won) or as
 * it stood (lost): its key, its decoder and the `#status` name (when the expressions use it) filled in.
 */
export function updateCommand(
  ctx: CommandsContext,
  commandId: string,
  write: { update: string; condition: Condition; values: Record<string, unknown> },
): Promise<WriteOutcome<CommandItem>> {
  const usesStatus = [write.update, ...Object.values(write.condition)].some((text) =>
    text.includes('#status'),
  );
  return conditionalUpdate(ctx.db, {
    tableName: ctx.tableName,
    key: commandKey(commandId),
    ...write,
    ...(usesStatus ? { names: { '#status': 'status' } } : {}),
    decode: asCommandItem,
  });
}

/** Throws ForbiddenError unless the command was sent to `workerName`. */
export function requireOwner(item: CommandItem, workerName: string): void {
  if (item.worker !== workerName)
    // The message names only the caller's own worker: which worker does own the command is not its business.
    throw new ForbiddenError(`command ${item.commandId} was not sent to worker ${workerName}`);
}

/** DynamoDB bills a write per KB of the item: a record kept within this costs 1 WRU per transition. */
export const RECORD_BILLED_BYTES = 1024;

/**
 * An upper bound of the size DynamoDB bills for an item (names and values by its documented rules, a
 * number counted by its decimal text, which is never less than DynamoDB's count).
 */
export function itemBytes(item: object): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return String(value).length;
  if (value instanceof Uint8Array) return value.length;
  if (value instanceof Set)
    return [...(value as Set<unknown>)].reduce<number>((sum, v) => sum + valueBytes(v), 0);
  if (Array.isArray(value)) return value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 3);
  if (typeof value === 'object' && value !== null) return 3 + itemBytes(value) + Object.keys(value).length;
  return 1;
}

export async function loadCommand(ctx: CommandsContext, commandId: string): Promise<CommandItem> {
  const { Item } = await ctx.db.send(
    new GetCommand({ TableName: ctx.tableName, Key: commandKey(commandId), ConsistentRead: true }),
  );
  if (!Item) throw new CommandNotFoundError(commandId);
  return Item as CommandItem;
}

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/**
 * The command's stored args. A record whose argsJson does not parse is an ItemDecodeError naming the attribute:
 * JSON.parse's own message quotes the text it choked on, and args may hold secrets that must not reach a log.
 */
export function argsOf(item: CommandItem): Record<string, unknown> {
  try {
    return JSON.parse(item.argsJson) as Record<string, unknown>;
  } catch {
    throw new ItemDecodeError('command record', 'argsJson', 'JSON text of an object', 'not JSON');
  }
}

export function commandView(item: CommandItem): CommandView {
  const view: CommandView = {
    commandId: item.commandId,
    worker: item.worker,
    command: item.command,
    args: argsOf(item),
    status: item.status,
    decodeRC: item.decodeRC,
    createdAt: new Date(item.createdAt).toISOString(),
    acked: item.acked,
  };
  if (item.startedAt !== undefined) view.startedAt = iso(item.startedAt);
  if (item.completedAt !== undefined) view.completedAt = iso(item.completedAt);
  if (item.rc !== undefined) view.rc = item.rc;
  if (item.elapsed !== undefined) view.elapsed = item.elapsed;
  if (item.failure_reason !== undefined) view.failure_reason = item.failure_reason;
  if (item.results !== undefined) view.results = item.results;
  if (item.failure !== undefined) view.failure = item.failure;
  if (item.interrupt !== undefined)
    view.interrupted = { why: item.interrupt.why, at: iso(item.interrupt.at)! };
  if (item.secretNames !== undefined) view.secretNames = [...item.secretNames].sort();
  return view;
}

export function completionEvent(item: CommandItem): CompletionEvent {
  return {
    commandId: item.commandId,
    worker: item.worker,
    command: item.command,
    status: 'complete',
    results: item.results!,
    rc: item.rc ?? null,
    failure: item.failure ?? null,
    startedAt: iso(item.startedAt) ?? null,
    completedAt: iso(item.completedAt)!,
  };
}

/** One stored run of updates (access pattern 2): seqs first..last, a fragment or a text run (runs.ts). */
export interface UpdateBatchItem extends StoredRun {
  pk: string;
  sk: string;
  /** TTL (seconds): retention counts from the write, as the command's end is not known yet. */
  expiresAt: number;
}
