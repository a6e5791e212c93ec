// Owns what the benchmarks count of a command's log objects (shared/logs): how many, their bytes in S3, and what a log costs at rest.
import type { LocalStack } from '../../local/index.ts';
import { forEachCommandItem, storedBytes } from './logs.ts';
import { PRICES } from './prices.ts';

/**
 * The log objects a command's run items name, and their bytes, read from the items (each names its object and
 * its size, which the API checked against S3 before recording it), outside the request tally.
 */
export async function logObjectsOf(
  stack: LocalStack,
  commandId: string,
): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  await forEachCommandItem(
    stack,
    commandId,
    (item) => {
      objects += 1;
      bytes += Number(item.bytes?.N ?? 0);
    },
    { filter: 'attribute_exists(obj)', projection: 'bytes' },
  );
  return { objects, bytes };
}

/** What a log leaves at rest: DynamoDB items (bytes as DynamoDB bills them) and log objects in S3. */
export interface LogStorage {
  dynamoBytes: number;
  objects: number;
  s3Bytes: number;
}

export async function logStorage(stack: LocalStack, commandId: string): Promise<LogStorage> {
  const [items, objects] = await Promise.all([storedBytes(stack, commandId), logObjectsOf(stack, commandId)]);
  return { dynamoBytes: items.bytes, objects: objects.objects, s3Bytes: objects.bytes };
}

/**
 * Per GB of log, what the requests leave out: a month at rest (the retention, 30 days: DynamoDB with PITR,
 * S3 Standard) and one read of it (a GET per log object; DynamoDB's eventually consistent reads, 0.5 RRU per
 * 4 KB of items). Lambda and HTTP of that read are left out (pages of 3 MiB: about 3 requests per 10 MB).
 */
export function logAllInExtras(stored: LogStorage, logBytes: number): number {
  const perGb = 1e9 / logBytes;
  const gb = (bytes: number) => bytes / 1e9;
  const atRest =
    gb(stored.dynamoBytes) * (PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth) +
    gb(stored.s3Bytes) * PRICES.s3StorageGbMonth;
  const readOnce =
    stored.objects * PRICES.s3Get + Math.ceil(stored.dynamoBytes / 4096) * 0.5 * PRICES.dynamoRru;
  return (atRest + readOnce) * perGb;
}
