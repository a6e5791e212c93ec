// Owns the state table as the connector and its lease use it: checked item decoders, a consistent read, a conditional put.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { conditionalPut, itemDecoder } from '../aws/conditionalWrite.ts';
import type { Condition, WriteOutcome } from '../aws/conditionalWrite.ts';
import type { TableKey } from './keys.ts';
import type { ObjectKeyItem, StateItem, TimingHookPoint } from './types.ts';

/** The table a connector works on, and its race-test seam (a no-op unless a test set one). */
export interface StateTable {
  client: DynamoDBDocumentClient;
  tableName: string;
  timingHook: (point: TimingHookPoint) => Promise<void>;
}

/** Checks and types an object key item (access patterns 1 and 2) that a lost claim returns. */
export const asObjectKeyItem = itemDecoder<ObjectKeyItem>('object key item', {
  pk: 'string',
  sk: 'string',
  objectId: 'number',
  name: 'string',
  className: 'string',
});

/** Checks and types a state item (patterns 4 and 5): a value, or a pending exactlyOnce lease. */
export const asStateItem = itemDecoder<StateItem>('state item', {
  pk: 'string',
  sk: 'string',
  name: 'string',
  value: 'string?',
  leaseOwner: 'string?',
  leaseExpiresAt: 'number?',
});

/** A consistent read of one object key item (pattern 1). */
export async function readObjectKey(table: StateTable, key: TableKey): Promise<ObjectKeyItem | undefined> {
  const { Item } = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
  );
  return Item as ObjectKeyItem | undefined;
}

/** A consistent read of one state item (pattern 4). */
export async function readState(table: StateTable, key: TableKey): Promise<StateItem | undefined> {
  const { Item } = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: key, ConsistentRead: true }),
  );
  return Item as StateItem | undefined;
}

/** Puts a state item if `condition` holds (pattern 5); a lost put returns the item that made it lose. */
export function putState(
  table: StateTable,
  item: StateItem,
  condition: Condition,
  expression: { names?: Record<string, string>; values?: Record<string, unknown> } = {},
): Promise<WriteOutcome<StateItem>> {
  return conditionalPut(table.client, {
    tableName: table.tableName,
    item,
    condition,
    ...expression,
    decode: asStateItem,
  });
}
