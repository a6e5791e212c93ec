// Owns what the benchmarks count of a command's log objects (shared/logs): how many, and the bytes they hold in S3.
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LocalStack } from '../../local/index.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';

/**
 * The log objects a command's run items name, and their bytes, read from the items (each names its object and
 * its size, which the API checked against S3 before recording it). A client of its own, outside the request
 * tally: measuring must not add to the bill it measures.
 */
export async function logObjectsOf(
  stack: LocalStack,
  commandId: string,
): Promise<{ objects: number; bytes: number }> {
  const dynamo = new DynamoDBClient({
    endpoint: stack.env[ENV.awsEndpointUrlDynamodb],
    region: stack.env[ENV.awsRegion],
    credentials: {
      accessKeyId: stack.env[ENV.awsAccessKeyId] ?? 'local',
      secretAccessKey: stack.env[ENV.awsSecretAccessKey] ?? 'local',
    },
  });
  let objects = 0;
  let bytes = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: stack.env[ENV.commandsTable],
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_exists(obj)',
          ExpressionAttributeValues: { ':pk': { S: commandKey(commandId).pk } },
          ProjectionExpression: 'bytes',
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) {
        objects += 1;
        bytes += Number(item.bytes?.N ?? 0);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    dynamo.destroy();
  }
  return { objects, bytes };
}
