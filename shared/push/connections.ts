// Owns what a connection does to the connections table: open, subscribe, unsubscribe (the push function's writes).
import * as LIMITS from '../limits.ts';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Role } from '../auth/types.ts';
import type { PushContext } from './context.ts';
import { connectionKey, subscriptionKey, topicPk } from './keys.ts';
import type { PushTopic } from './wire.ts';

function expiresAt(now: number): number {
  return Math.floor(now / 1000) + LIMITS.pushConnectionSeconds;
}

/** $connect: the connection's record (pattern 1), with the caller's role. */
export async function openConnection(ctx: PushContext, connectionId: string, role: Role): Promise<void> {
  const now = Date.now();
  await ctx.db.send(
    new PutCommand({
      TableName: ctx.tableName,
      Item: { ...connectionKey(connectionId), role, connectedAt: now, expiresAt: expiresAt(now) },
    }),
  );
}

/**
 * Subscribes a connection to a topic: the subscription item (pattern 2) and the topic on the connection's record,
 * both at once (the subscribe is on the path a follower waits for). Answers false when the connection holds
 * LIMITS.pushTopicsPerConnection other topics already; the item put for it is then taken back.
 */
export async function subscribe(ctx: PushContext, connectionId: string, topic: PushTopic): Promise<boolean> {
  const pk = topicPk(topic);
  // Race: $disconnect deletes the record while this adds to it. The update is conditioned on the record, so it
  // cannot recreate a closed connection as a stub; the subscription item put beside it expires by TTL.
  const listed = ctx.db
    .send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: connectionKey(connectionId),
        UpdateExpression: 'ADD topics :topic',
        ConditionExpression:
          'attribute_exists(pk) AND (attribute_not_exists(topics) OR contains(topics, :pk) OR size(topics) < :max)',
        ExpressionAttributeValues: {
          ':topic': new Set([pk]),
          ':pk': pk,
          ':max': LIMITS.pushTopicsPerConnection,
        },
      }),
    )
    .then(
      () => true,
      (error: Error) => {
        if (error.name === 'ConditionalCheckFailedException') return false;
        throw error;
      },
    );
  const stored = ctx.db.send(
    new PutCommand({
      TableName: ctx.tableName,
      Item: { ...subscriptionKey(topic, connectionId), expiresAt: expiresAt(Date.now()) },
    }),
  );
  const [accepted] = await Promise.all([listed, stored]);
  // Refused: the topic was not listed before (a listed one always passes), so the item is this call's own.
  if (!accepted)
    await ctx.db.send(
      new DeleteCommand({ TableName: ctx.tableName, Key: subscriptionKey(topic, connectionId) }),
    );
  return accepted;
}

export async function unsubscribe(ctx: PushContext, connectionId: string, topic: PushTopic): Promise<void> {
  await ctx.db.send(
    new DeleteCommand({ TableName: ctx.tableName, Key: subscriptionKey(topic, connectionId) }),
  );
  await ctx.db
    .send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: connectionKey(connectionId),
        UpdateExpression: 'DELETE topics :topic',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':topic': new Set([topicPk(topic)]) },
      }),
    )
    .catch((error: Error) => {
      // Closed meanwhile: nothing left to update.
      if (error.name !== 'ConditionalCheckFailedException') throw error;
    });
}
