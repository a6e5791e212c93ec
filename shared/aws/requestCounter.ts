// Owns counting AWS requests and the DynamoDB capacity they report, per service and operation, for the bill.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { STSClient } from '@aws-sdk/client-sts';

/**
 * Counts every AWS request and the capacity DynamoDB reports, per service and operation, so the
 * benchmarks can print the bill. Counting is a few map updates per request; it is always on. Each set of
 * clients (shared/aws/clients.ts: one per endpoint) has its own counter, so two local stacks in one
 * process keep two bills.
 */
export type AwsService = 'dynamodb' | 'sqs' | 'sts';

export interface RequestTally {
  requests: Record<string, number>;
  /** DynamoDB write and read units as reported by ConsumedCapacity (TOTAL), failed conditions included. */
  writeUnits: number;
  readUnits: number;
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

/** One tally, and the middleware that adds the requests of the clients it counts to it. */
export class RequestCounter {
  private tally: RequestTally = { requests: {}, writeUnits: 0, readUnits: 0 };

  /** A copy of the counts since this counter was made (or last reset). */
  snapshot(): RequestTally {
    const { requests, writeUnits, readUnits } = this.tally;
    return { requests: { ...requests }, writeUnits, readUnits };
  }

  reset(): void {
    this.tally = { requests: {}, writeUnits: 0, readUnits: 0 };
  }

  /** Counts every request `client` sends from now on (a second call for the same client replaces the first). */
  count(client: DynamoDBClient | SQSClient | STSClient, service: AwsService): void {
    const stack = client.middlewareStack as DynamoDBClient['middlewareStack'];
    stack.add(
      (next, context) => async (args) => {
        const key = `${service}:${String(context.commandName ?? 'unknown')}`;
        // Ask DynamoDB for the units each call costs; the SDK drops the field for operations without it.
        if (service === 'dynamodb')
          (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity ??= 'TOTAL';
        this.tally.requests[key] = (this.tally.requests[key] ?? 0) + 1;
        let result: Awaited<ReturnType<typeof next>>;
        try {
          result = await next(args);
        } catch (error) {
          // A failed condition is billed as a write, but its error carries no ConsumedCapacity: count the
          // 1 WRU minimum (exact for items up to 1 KB, which conditional transitions and claims are).
          if (service === 'dynamodb' && (error as Error).name === 'ConditionalCheckFailedException')
            this.tally.writeUnits += 1;
          throw error;
        }
        if (service === 'dynamodb') this.addCapacity(result.output, String(context.commandName ?? ''));
        return result;
      },
      { step: 'initialize', name: 'bbsRequestCounter', override: true },
    );
  }

  private addCapacity(output: unknown, operation: string): void {
    const consumed = (output as { ConsumedCapacity?: CapacityEntry | CapacityEntry[] } | undefined)
      ?.ConsumedCapacity;
    // TOTAL answers carry CapacityUnits alone (DynamoDB Local always does); the operation says which kind.
    const read = READ_OPERATIONS.has(operation);
    for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
      this.tally.writeUnits += entry.WriteCapacityUnits ?? (read ? 0 : (entry.CapacityUnits ?? 0));
      this.tally.readUnits += entry.ReadCapacityUnits ?? (read ? (entry.CapacityUnits ?? 0) : 0);
    }
  }
}
