// Owns a command's watch mark (`watchedUntil` on its record) and the snapshot a `subscribed` frame carries with it.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { conditionalUpdate } from '../aws/conditionalWrite.ts';
import { commandKey } from '../commands/keys.ts';
import { asCommandItem } from '../commands/items.ts';
import type { CommandItem } from '../commands/items.ts';
import { CONNECTION_TTL_SECONDS } from './keys.ts';
import { statusFrameOf } from './statusFrame.ts';
import type { StatusFrame } from './wire.ts';

/*
 * Why a mark on the command record: the writing handlers (the fast path) hold the record they just wrote, so
 * "is anyone watching this command?" costs them nothing, where a subscribers Query costs every write of every
 * command 0.5 RRU and a round trip, subscribed or not. Subscribing to a command sets the mark; the writes that
 * follow return it (ALL_NEW) and only a marked record's writer queries the subscribers.
 *
 * Race: a subscribe S and a write W of the same record are ordered by DynamoDB (one item):
 *   S before W: W's record carries the mark → W's writer queries and posts (S's subscription is stored first)
 *   W before S: S's answer (ALL_NEW, the snapshot) already shows W → the subscriber has it without a post
 * Either way nothing is missed. The mark is not cleared at unsubscribe (another connection may watch the same
 * command): a mark with nobody behind it costs the writes a Query each until it expires, as before it.
 */

/** The record's attribute: until when (ms) the command may have subscribers. */
const WATCHED_UNTIL = 'watchedUntil';

/** A subscription lives at most as long as its connection (2 hours): the mark lasts as long. */
const WATCH_MS = CONNECTION_TTL_SECONDS * 1000;

/** True when `item` (a record as just written, ALL_NEW) may have subscribers to post to. */
export function isWatched(item: CommandItem, now = Date.now()): boolean {
  const until = (item as { [WATCHED_UNTIL]?: unknown })[WATCHED_UNTIL];
  return typeof until === 'number' && until > now;
}

/**
 * Marks the command watched and answers it as it stands after the mark (strongly consistent, as a write's
 * answer is): what changes after it reaches the subscriber as frames, so a follower that finds nothing newer
 * than what it has needs no read of its own. One UpdateItem (1 WRU for a record within 1 KB) instead of the
 * consistent GetItem (1 RRU) the snapshot was. Undefined for an unknown command (no record is created).
 */
export async function watchCommand(
  db: DynamoDBDocumentClient,
  commandsTable: string,
  commandId: string,
): Promise<StatusFrame | undefined> {
  const outcome = await conditionalUpdate<CommandItem>(db, {
    tableName: commandsTable,
    key: commandKey(commandId),
    update: `SET ${WATCHED_UNTIL} = :until`,
    condition: { commandExists: 'attribute_exists(pk)' },
    values: { ':until': Date.now() + WATCH_MS },
    decode: asCommandItem,
  });
  return outcome.won ? statusFrameOf(outcome.item) : undefined;
}
