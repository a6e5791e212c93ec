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

const READ_OPERATIONS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);

function addCapacity(output: unknown, operation: string): void {
  const consumed = (output as { ConsumedCapacity?: CapacityEntry | CapacityEntry[] } | undefined)
    ?.ConsumedCapacity;
  // TOTAL answers carry CapacityUnits alone (DynamoDB Local always does); the operation says which kind.
  const read = READ_OPERATIONS.has(operation);
  for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
    tally.writeUnits += entry.WriteCapacityUnits ?? (read ? 0 : (entry.CapacityUnits ?? 0));
    tally.readUnits += entry.ReadCapacityUnits ?? (read ? (entry.CapacityUnits ?? 0) : 0);
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
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        // A failed condition is billed as a write, but its error carries no ConsumedCapacity: count the
        // 1 WRU minimum (exact for items up to 1 KB, which conditional transitions and claims are).
        if (service === 'dynamodb' && (error as Error).name === 'ConditionalCheckFailedException')
          tally.writeUnits += 1;
        throw error;
      }
      if (service === 'dynamodb') addCapacity(result.output, String(context.commandName ?? ''));
      return result;
    },
    { step: 'initialize', name: 'bbsRequestCounter', override: true },
  );
}
