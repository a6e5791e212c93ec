// Owns closing a connection: its record and every subscription it listed (at $disconnect, or when a post finds it gone).
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { PushContext } from './context.ts';
import { connectionKey, subscriptionKey, topicOfPk } from './keys.ts';
import type { PushTopic } from './wire.ts';

/**
 * $disconnect, or a post that found the connection gone (410): the record and every subscription it listed.
 * Answers the topics it closed (the command records that list the connection are the caller's to clear:
 * the stream fan-out, which posts too, may not write command records).
 */
export async function closeConnection(ctx: PushContext, connectionId: string): Promise<PushTopic[]> {
  const { Attributes } = await ctx.db.send(
    new DeleteCommand({
      TableName: ctx.tableName,
      Key: connectionKey(connectionId),
      ReturnValues: 'ALL_OLD',
    }),
  );
  const listed = Attributes?.topics instanceof Set ? [...(Attributes.topics as Set<string>)] : [];
  const topics = listed.map(topicOfPk).filter((topic) => topic !== undefined);
  await Promise.all(
    topics.map((topic) =>
      ctx.db.send(new DeleteCommand({ TableName: ctx.tableName, Key: subscriptionKey(topic, connectionId) })),
    ),
  );
  return topics;
}
