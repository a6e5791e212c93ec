import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';

/**
 * Counts every AWS request and the capacity DynamoDB reports, per service and operation, so the
 * benchmarks can print the bill. Counting is a few map updates per request; it is always on.
 */
export type AwsService = 'dynamodb' | 'sqs';

export interface RequestTally {
  requests: Record<string, number>;
  /** DynamoDB write and read units as reported by ConsumedCapacity (TOTAL), failed conditions included. */
  writeUnits: number;
  readUnits: number;
}

const tally: RequestTally = { requests: {}, writeUnits: 0, readUnits: 0 };

export function requestTally(): RequestTally {
  return { requests: { ...tally.requests }, writeUnits: tally.writeUnits, readUnits: tally.readUnits };
}

export function resetRequestTally(): void {
  tally.requests = {};
  tally.writeUnits = 0;
  tally.readUnits = 0;
}

interface CapacityEntry {
  WriteCapacityUnits?: number;
  ReadCapacityUnits?: number;
  CapacityUnits?: number;
}

function addCapacity(output: unknown): void {
  const consumed = (output as { ConsumedCapacity?: CapacityEntry | CapacityEntry[] } | undefined)
    ?.ConsumedCapacity;
  for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    tally.writeUnits += entry.WriteCapacityUnits ?? 0;
    tally.readUnits += entry.ReadCapacityUnits ?? 0;
  }
}

export function countRequests(client: DynamoDBClient | SQSClient, service: AwsService): void {
  const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
  stack.add(
    (next, context) => async (args) => {
      const key = `${service}:${String(context.commandName ?? 'unknown')}`;
      // Ask DynamoDB for the units each call costs; the SDK drops the field for operations without it.
      if (service === 'dynamodb')
        (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= 'TOTAL';
      tally.requests[key] = (tally.requests[key] ?? 0) + 1;
      const result = await next(args);
      if (service === 'dynamodb') addCapacity(result.output);
      return result;
    },
    { step: 'initialize', name: 'bbsRequestCounter', override: true },
  );
}
