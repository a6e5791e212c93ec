// Owns a command's watch mark (`watchedUntil`, and the watchers' connection ids) on its record, and the `subscribed` snapshot.
import * as LIMITS from '../limits.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionalUpdate } from '../aws/conditionalWrite.ts';
import { commandKey } from '../commands/keys.ts';
import { asCommandItem } from '../commands/items.ts';
import type { CommandItem } from '../commands/items.ts';
import { COMMAND_STATUS } from '../commands/types.ts';
import { statusFrameOf } from './statusFrame.ts';
import type { StatusFrame } from './wire.ts';

/*
 * Why a mark on the command record: the writing handlers (the fast path) hold the record they just wrote, so
 * "is anyone watching this command?" costs them nothing, where a subscribers Query costs every write of every
 * command 0.5 RRU and a round trip, subscribed or not. Subscribing to a command sets the mark; the writes that
 * follow return it (ALL_NEW) and only a marked record's writer posts.
 *
 * Why the watchers' connection ids on it too (`watchers`, with `watchList` saying the list is whole): the
 * writer then posts straight from the record it just wrote, with no subscribers Query between the ending write
 * and the post, a round trip that every pushed change of a watched command waited for (6 ms on a quiet local
 * stack, 15 under load; a completion's client is waiting on it). The list is capped at LIMITS.pushRecordWatchers, as
 * each write of the record is billed by its size: a subscription past the cap sets `watchList` false for
 * good, and the writers query the subscribers instead (as they do for a record marked before lists were).
 * The connections table keeps every subscription as before: the stream backstop and $disconnect read it.
 *
 * Race: a subscribe S and a write W of the same record are ordered by DynamoDB (one item):
 *   S before W: W's record carries the mark and S's connection → W's writer posts to it
 *   W before S: S's answer (ALL_NEW, the snapshot) already shows W → the subscriber has it without a post
 * Either way nothing is missed; and the list is read in the write itself, where a Query after it reads an
 * index of subscriptions that may lag (eventually consistent). Leaving takes the connection off the list of
 * a command not yet complete (unwatchCommand: unsubscribe, $disconnect, a post that met 410). One left on it (on AWS an unsubscribe may
 * run before its own subscribe, each message being its own invocation) costs a post the client ignores, or
 * a 410 that takes it off. The mark is not cleared at unsubscribe (another connection may watch the same
 * command): a mark with nobody behind it costs the writes nothing more once its list is empty.
 */

/** The record's attribute: until when (ms) the command may have subscribers. */
const WATCHED_UNTIL = 'watchedUntil';

/** A subscription lives at most as long as its connection (2 hours): the mark lasts as long. */
const WATCH_MS = LIMITS.pushConnectionSeconds * 1000;

/** True when `item` (a record as just written, ALL_NEW) may have subscribers to post to. */
export function isWatched(item: CommandItem, now = Date.now()): boolean {
  const until = (item as { [WATCHED_UNTIL]?: unknown })[WATCHED_UNTIL];
  return typeof until === 'number' && until > now;
}

/**
 * The connections to post `item`'s changes to, read off the record as just written: undefined when its
 * writer must query the subscribers instead (the list is not whole: past the cap, or an older mark).
 * Call only for a watched record.
 */
export function recordWatchers(item: CommandItem): string[] | undefined {
  const { watchList, watchers } = item as { watchList?: unknown; watchers?: unknown };
  if (watchList !== true) return undefined;
  return watchers instanceof Set ? [...(watchers as Set<string>)] : [];
}

/**
 * Marks the command watched by `connectionId` and answers it as it stands after the mark (strongly
 * consistent, as a write's answer is): what changes after it reaches the subscriber as frames, so a follower
 * that finds nothing newer than what it has needs no read of its own. One UpdateItem (1 WRU for a record
 * within 1 KB) instead of the consistent GetItem (1 RRU) the snapshot was; two when the list is full.
 * Undefined for an unknown command (no record is created).
 */
export async function watchCommand(
  db: DynamoDBDocumentClient,
  commandsTable: string,
  commandId: string,
  connectionId: string,
): Promise<StatusFrame | undefined> {
  const now = Date.now();
  const until = now + WATCH_MS;
  const listed = await conditionalUpdate<CommandItem>(db, {
    tableName: commandsTable,
    key: commandKey(commandId),
    update: `SET ${WATCHED_UNTIL} = :until, watchList = :true ADD watchers :me`,
    condition: {
      commandExists: 'attribute_exists(pk)',
      // A live mark from before lists were has subscribers the list would leave out.
      listWhole: `watchList = :true OR attribute_not_exists(${WATCHED_UNTIL}) OR ${WATCHED_UNTIL} < :now`,
      listRoom: 'attribute_not_exists(watchers) OR size(watchers) < :max OR contains(watchers, :id)',
    },
    values: {
      ':until': until,
      ':true': true,
      ':me': new Set([connectionId]),
      ':now': now,
      ':max': LIMITS.pushRecordWatchers,
      ':id': connectionId,
    },
    decode: asCommandItem,
  });
  if (listed.won) return statusFrameOf(listed.item);
  if (!listed.old) return undefined;
  // Full (or an older mark is live): mark it only; its writers query the subscribers.
  const marked = await conditionalUpdate<CommandItem>(db, {
    tableName: commandsTable,
    key: commandKey(commandId),
    update: `SET ${WATCHED_UNTIL} = :until, watchList = :false`,
    condition: { commandExists: 'attribute_exists(pk)' },
    values: { ':until': until, ':false': false },
    decode: asCommandItem,
  });
  return marked.won ? statusFrameOf(marked.item) : undefined;
}

/**
 * Takes `connectionId` off the command's list of watchers (a missing command or list: nothing to do). A
 * complete command's list is left as it is: no writer posts from it again (claims, acks and the ending are
 * all behind it), and the write would be one more stream record for the fan-out to post about, right as a
 * client that saw the end unsubscribes.
 */
export async function unwatchCommand(
  db: DynamoDBDocumentClient,
  commandsTable: string,
  commandId: string,
  connectionId: string,
): Promise<void> {
  await conditionalUpdate<CommandItem>(db, {
    tableName: commandsTable,
    key: commandKey(commandId),
    update: 'DELETE watchers :me',
    condition: { listsIt: 'contains(watchers, :id)', notComplete: '#status <> :complete' },
    names: { '#status': 'status' },
    values: { ':me': new Set([connectionId]), ':id': connectionId, ':complete': COMMAND_STATUS.complete },
    decode: asCommandItem,
  });
}
