// Owns the fan-out's read of the connections table: the subscribers of a topic (pattern 3).
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { PushContext } from './context.ts';
import { topicPk } from './keys.ts';
import type { PushTopic } from './wire.ts';

/** The connections subscribed to any of `topics` (pattern 3: one Query each, at once), each once. */
export async function subscribersOf(ctx: PushContext, topics: PushTopic[]): Promise<string[]> {
  const pages = await Promise.all(
    topics.map(async (topic) => {
      const ids: string[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        ctx.tally.queries++;
        const page = await ctx.db.send(
          new QueryCommand({
            TableName: ctx.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': topicPk(topic) },
            ProjectionExpression: 'sk',
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) if (typeof item.sk === 'string') ids.push(item.sk);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return ids;
    }),
  );
  return [...new Set(pages.flat())];
}
