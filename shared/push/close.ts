// Owns closing a connection: its record and every subscription it listed (at $disconnect, or when a post finds it gone).
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { PushContext } from './context.ts';
import { connectionKey, subscriptionKey, topicOfPk } from './keys.ts';

/** $disconnect, or a post that found the connection gone (410): the record and every subscription it listed. */
export async function closeConnection(ctx: PushContext, connectionId: string): Promise<void> {
  const { Attributes } = await ctx.db.send(
    new DeleteCommand({
      TableName: ctx.tableName,
      Key: connectionKey(connectionId),
      ReturnValues: 'ALL_OLD',
    }),
  );
  const topics = Attributes?.topics instanceof Set ? [...(Attributes.topics as Set<string>)] : [];
  await Promise.all(
    topics.map((pk) => {
      const topic = topicOfPk(pk);
      return topic
        ? ctx.db.send(
            new DeleteCommand({ TableName: ctx.tableName, Key: subscriptionKey(topic, connectionId) }),
          )
        : undefined;
    }),
  );
}
