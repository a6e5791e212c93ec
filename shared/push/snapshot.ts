// Owns the command snapshot a `subscribed` frame carries: its status and acked seq as the subscription was armed.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { commandKey } from '../commands/keys.ts';
import type { CommandItem } from '../commands/items.ts';
import { statusFrameOf } from './statusFrame.ts';
import type { StatusFrame } from './wire.ts';

/** The record's fields a status frame needs (a projection: the record's args and runs are not read). */
const FIELDS = [
  'commandId',
  'worker',
  'command',
  '#status',
  'acked',
  'createdAt',
  'startedAt',
  'completedAt',
  'results',
  'rc',
  'failure',
  'interrupt',
];

/**
 * The command as it stands once the subscription is stored: what changes after it reaches the subscriber as
 * frames, so a follower that finds nothing newer than what it has needs no read of its own (a GetItem here,
 * 0.5 RRU, instead of an HTTP read). Undefined for an unknown command.
 */
export async function commandSnapshot(
  db: DynamoDBDocumentClient,
  commandsTable: string,
  commandId: string,
): Promise<StatusFrame | undefined> {
  const { Item } = await db.send(
    new GetCommand({
      TableName: commandsTable,
      Key: commandKey(commandId),
      ProjectionExpression: FIELDS.join(', '),
      ExpressionAttributeNames: { '#status': 'status' },
      // Strongly consistent: an eventually consistent read could miss an ack stored just before the subscription.
      ConsistentRead: true,
    }),
  );
  return Item ? statusFrameOf(Item as CommandItem) : undefined;
}
