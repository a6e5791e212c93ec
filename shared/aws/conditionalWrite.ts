// Owns every conditional write to DynamoDB: named condition parts, who won, and the typed item that made a write lose.
import type { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BuildbotError } from '../errors.ts';
import { ItemDecodeError } from './errors.ts';

/**
 * Modelled on Powertools' DynamoDBPersistenceLayer._putRecord: the condition is built from named parts
 * (`{ recordExists: 'attribute_exists(pk)', stillQueued: '#status = :queued' }`), joined with AND, and the
 * names travel with the outcome so that an error or a log line can say what had to hold. Only
 * ConditionalCheckFailedException becomes an outcome: `{won: false, old}`, where `old` is the item as
 * DynamoDB found it (ReturnValuesOnConditionCheckFailure: ALL_OLD, no second read) or undefined when there
 * was none. Every other error is rethrown. Items are typed by a decoder that checks each attribute, so a
 * missing or mistyped attribute is an ItemDecodeError naming it, never a silent NaN.
 */

/** Named parts of a condition; each part is parenthesized and the parts are joined with AND. */
export type Condition = Readonly<Record<string, string>>;

/** Turns a raw item (DocumentClient shape) into T, or throws ItemDecodeError naming the attribute. */
export type ItemDecoder<T> = (raw: Record<string, unknown>) => T;

/** What a conditional write did: it won (with the item it wrote), or lost to `old` (undefined: no item). */
export type WriteOutcome<T> =
  | { won: true; item: T }
  | {
      won: false;
      old: T | undefined;
      /** The names of the condition's parts, one of which did not hold. */
      parts: readonly string[];
    };

/** The outcome of a lost write. */
export type LostWrite<T> = Extract<WriteOutcome<T>, { won: false }>;

interface WriteBase<T> {
  tableName: string;
  condition: Condition;
  names?: Record<string, string>;
  values?: Record<string, unknown>;
  /** Checks and types the item a lost write returns (and the item an update returns). */
  decode: ItemDecoder<T>;
}

export interface PutWrite<T extends object> extends WriteBase<T> {
  item: T;
}

/** The key of the item to write: every table of this project keys its items on pk and sk. */
export interface ItemKey {
  pk: string;
  sk: string;
}

export interface UpdateWrite<T> extends WriteBase<T> {
  key: ItemKey;
  /** The UpdateExpression (SET, REMOVE, ADD clauses). */
  update: string;
  /** Which item a won update returns: the item after the write, or before it. @default 'ALL_NEW' */
  returns?: 'ALL_NEW' | 'ALL_OLD';
}

export interface DeleteWrite<T> extends WriteBase<T> {
  key: ItemKey;
}

/** A put that reports a failed condition instead of throwing; a won put returns the item it wrote. */
export async function conditionalPut<T extends object>(
  db: DynamoDBDocumentClient,
  write: PutWrite<T>,
): Promise<WriteOutcome<T>> {
  return settle(write, async () => {
    await db.send(
      new PutCommand({
        TableName: write.tableName,
        Item: write.item as Record<string, unknown>,
        ...conditionInput(write),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return write.item;
  });
}

/** An update that reports a failed condition instead of throwing; a won update returns the decoded item. */
export async function conditionalUpdate<T>(
  db: DynamoDBDocumentClient,
  write: UpdateWrite<T>,
): Promise<WriteOutcome<T>> {
  return settle(write, async () => {
    const { Attributes } = await db.send(
      new UpdateCommand({
        TableName: write.tableName,
        Key: { pk: write.key.pk, sk: write.key.sk },
        UpdateExpression: write.update,
        ...conditionInput(write),
        ReturnValues: write.returns ?? 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return write.decode(Attributes ?? {});
  });
}

/** A delete that reports a failed condition instead of throwing; a won delete returns the deleted item. */
export async function conditionalDelete<T>(
  db: DynamoDBDocumentClient,
  write: DeleteWrite<T>,
): Promise<WriteOutcome<T | undefined>> {
  return settle(write, async () => {
    const { Attributes } = await db.send(
      new DeleteCommand({
        TableName: write.tableName,
        Key: { pk: write.key.pk, sk: write.key.sk },
        ...conditionInput(write),
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return Attributes === undefined ? undefined : write.decode(Attributes);
  });
}

/** The condition as DynamoDB takes it: `(part) AND (part)`, with the names and values the parts use. */
export function conditionInput(write: Pick<WriteBase<unknown>, 'condition' | 'names' | 'values'>): {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  const parts = Object.values(write.condition);
  if (parts.length === 0) throw new BuildbotError('a conditional write needs at least one condition part');
  return {
    ConditionExpression: parts.length === 1 ? parts[0]! : parts.map((part) => `(${part})`).join(' AND '),
    ...(write.names && Object.keys(write.names).length > 0 ? { ExpressionAttributeNames: write.names } : {}),
    ...(write.values && Object.keys(write.values).length > 0
      ? { ExpressionAttributeValues: write.values }
      : {}),
  };
}

async function settle<T, R>(write: WriteBase<T>, attempt: () => Promise<R>): Promise<WriteOutcome<R>> {
  let item: R;
  try {
    item = await attempt();
  } catch (error) {
    if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
    // The DocumentClient does not unmarshall errors: ALL_OLD comes back as raw AttributeValues.
    const raw = (error as ConditionalCheckFailedException).Item;
    return {
      won: false,
      old: raw === undefined ? undefined : (write.decode(unmarshall(raw)) as unknown as R),
      parts: Object.keys(write.condition),
    };
  }
  return { won: true, item };
}

/** The kinds of attribute a decoder checks; `?` marks an optional one (absent is fine, mistyped is not). */
type AttributeKind = 'string' | 'number' | 'boolean' | 'map' | 'binary' | 'stringSet';
export type AttributeSpec = AttributeKind | `${AttributeKind}?`;

/** Every attribute of T, with the kind its value must have. */
export type ItemShape<T> = { readonly [K in keyof T]-?: AttributeSpec };

function kindOf(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'binary';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

function hasKind(value: unknown, kind: AttributeKind): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && !Number.isNaN(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'binary':
      return value instanceof Uint8Array;
    case 'stringSet':
      return value instanceof Set && [...(value as Set<unknown>)].every((v) => typeof v === 'string');
    case 'map':
      return (
        typeof value === 'object' &&
        value !== null &&
        !Array.isArray(value) &&
        !(value instanceof Set) &&
        !(value instanceof Uint8Array)
      );
  }
}

/**
 * A decoder that checks each attribute of `shape` and returns the item as it came (attributes it does not
 * name are kept; absent optional ones stay absent, so the item reads and re-encodes exactly as stored).
 */
export function itemDecoder<T>(itemName: string, shape: ItemShape<T>): ItemDecoder<T> {
  const checks = Object.entries(shape as Record<string, AttributeSpec>).map(([attribute, spec]) => ({
    attribute,
    optional: spec.endsWith('?'),
    kind: spec.replace('?', '') as AttributeKind,
  }));
  return (raw) => {
    for (const { attribute, optional, kind } of checks) {
      const value = raw[attribute];
      if (value === undefined && optional) continue;
      if (!hasKind(value, kind)) throw new ItemDecodeError(itemName, attribute, kind, kindOf(value));
    }
    return raw as T;
  };
}
