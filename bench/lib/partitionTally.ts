// Owns the scale bench's tally of DynamoDB read and write units per partition key (table or index, key value) per second.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DUE_INDEX, dueShardOf } from '../../shared/commands/keys.ts';

/**
 * SDK middleware, as the bill's RequestCounter (shared/aws/requestCounter.ts), that asks DynamoDB for the units
 * of each call per table and per index (ReturnConsumedCapacity INDEXES; DynamoDB Local answers it as AWS does)
 * and books them to the partition key each went to: the item's `pk` for the table, its `dueShard` for
 * dueByDeadline, its `worker` for byWorker. A key is `<table>|<index or "table">|<key value>`.
 *
 * An UpdateItem names only the item's key, so the index keys of a command come from its PutItem, seen
 * earlier (start); a command this tally never saw put falls back to dueShardOf(its id). A batch's units
 * (BatchGetItem, BatchWriteItem, TransactWriteItems) are shared evenly among its items: their items here are
 * alike (command records, cursors).
 */
export interface UnitSample {
  second: number;
  key: string;
  rcu: number;
  wcu: number;
}

interface Capacity {
  TableName?: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

const READS = new Set(['GetItemCommand', 'QueryCommand', 'BatchGetItemCommand', 'ScanCommand']);

/** A DynamoDB value as the middleware may see it: native (before the DocumentClient marshals) or `{S: …}`. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const attr = value as { S?: string; N?: string };
    return attr.S ?? attr.N;
  }
  return undefined;
}

type Item = Record<string, unknown>;

export class PartitionTally {
  private readonly samples = new Map<string, UnitSample>();
  private readonly indexKeys = new Map<string, { dueShard?: string; worker?: string }>();
  private startedAt = performance.now();
  private counting = false;
  /** Short names of the tables, by table name (`commands`, `state`). */
  private readonly tables: Record<string, string>;

  constructor(tables: Record<string, string>) {
    this.tables = tables;
  }

  /** Starts a window: from now on units are booked, per second since this call. */
  start(): void {
    this.samples.clear();
    this.startedAt = performance.now();
    this.counting = true;
  }

  stop(): { seconds: number; samples: UnitSample[] } {
    this.counting = false;
    return { seconds: (performance.now() - this.startedAt) / 1000, samples: [...this.samples.values()] };
  }

  attach(client: DynamoDBDocumentClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'INDEXES';
        const result = await next(args);
        const operation = String(context.commandName ?? '');
        this.learn(operation, input);
        if (this.counting) {
          const consumed = (result.output as { ConsumedCapacity?: Capacity | Capacity[] }).ConsumedCapacity;
          for (const capacity of Array.isArray(consumed) ? consumed : consumed ? [consumed] : [])
            this.book(operation, input, capacity);
        }
        return result;
      },
      { step: 'initialize', name: 'scalePartitionTally', priority: 'high', override: true },
    );
  }

  /** Index keys of commands, from their puts (start). */
  private learn(operation: string, input: Record<string, unknown>): void {
    if (operation !== 'PutItemCommand') return;
    const item = input.Item as Item | undefined;
    const pk = text(item?.pk);
    if (pk?.startsWith('CMD#'))
      this.indexKeys.set(pk, { dueShard: text(item?.dueShard), worker: text(item?.worker) });
  }

  private add(key: string, units: number, kind: 'rcu' | 'wcu'): void {
    if (units <= 0) return;
    const second = Math.floor((performance.now() - this.startedAt) / 1000);
    const id = `${second}|${key}`;
    let sample = this.samples.get(id);
    if (!sample) {
      sample = { second, key, rcu: 0, wcu: 0 };
      this.samples.set(id, sample);
    }
    sample[kind] += units;
  }

  private book(operation: string, input: Record<string, unknown>, capacity: Capacity): void {
    const table = this.tables[capacity.TableName ?? ''] ?? capacity.TableName ?? '?';
    const kind = READS.has(operation) ? 'rcu' : 'wcu';
    const items = this.itemsOf(operation, input, capacity.TableName ?? '');
    const tableUnits = capacity.Table?.CapacityUnits ?? capacity.CapacityUnits ?? 0;
    if (operation === 'QueryCommand' || operation === 'ScanCommand') {
      const index = (input.IndexName as string | undefined) ?? 'table';
      const key = this.queryKey(input);
      this.add(
        `${table}|${index}|${key}`,
        index === 'table' ? tableUnits : (capacity.CapacityUnits ?? 0),
        kind,
      );
      return;
    }
    for (const item of items)
      this.add(`${table}|table|${text(item.pk) ?? '?'}`, tableUnits / items.length, kind);
    for (const [index, units] of Object.entries(capacity.GlobalSecondaryIndexes ?? {})) {
      const share = (units.CapacityUnits ?? 0) / Math.max(1, items.length);
      for (const item of items) this.add(`${table}|${index}|${this.indexKey(index, item)}`, share, kind);
    }
  }

  /** The items (their attributes as sent) a request names in `tableName`. */
  private itemsOf(operation: string, input: Record<string, unknown>, tableName: string): Item[] {
    if (operation === 'BatchGetItemCommand') {
      const request = (input.RequestItems as Record<string, { Keys?: Item[] }> | undefined)?.[tableName];
      return request?.Keys ?? [];
    }
    if (operation === 'BatchWriteItemCommand') {
      const writes = (input.RequestItems as Record<string, Item[]> | undefined)?.[tableName] ?? [];
      return writes.map(
        (write) =>
          ((write.PutRequest as { Item?: Item } | undefined)?.Item ??
            (write.DeleteRequest as { Key?: Item } | undefined)?.Key ??
            {}) as Item,
      );
    }
    if (operation === 'TransactWriteItemsCommand') {
      const items = (input.TransactItems as Item[] | undefined) ?? [];
      return items
        .map((entry) => Object.values(entry)[0] as { TableName?: string; Key?: Item; Item?: Item })
        .filter((part) => part?.TableName === tableName)
        .map((part) => (part.Item ?? part.Key ?? {}) as Item);
    }
    return [(input.Item ?? input.Key ?? {}) as Item];
  }

  /** The partition key value of an index entry of `item` (a command's, learned from its put). */
  private indexKey(index: string, item: Item): string {
    const pk = text(item.pk) ?? '?';
    const known = this.indexKeys.get(pk);
    if (index === DUE_INDEX)
      return (
        text(item.dueShard) ?? known?.dueShard ?? (pk.startsWith('CMD#') ? dueShardOf(pk.slice(4)) : '?')
      );
    return text(item.worker) ?? known?.worker ?? '?';
  }

  /** The value of the first equality of a Query's key condition (`pk = :pk`, `dueShard = :due`). */
  private queryKey(input: Record<string, unknown>): string {
    const condition = String(input.KeyConditionExpression ?? '');
    const placeholder = /^\s*\(?\s*#?\w+\s*=\s*(:\w+)/.exec(condition)?.[1];
    const values = (input.ExpressionAttributeValues ?? {}) as Item;
    return (placeholder && text(values[placeholder])) ?? '?';
  }
}

/** Units per key over a window: the mean a second, and the busiest second. */
export interface KeyLoad {
  key: string;
  meanWcu: number;
  meanRcu: number;
  peakWcu: number;
  peakRcu: number;
}

export function loadsByKey(window: { seconds: number; samples: UnitSample[] }): KeyLoad[] {
  const byKey = new Map<string, KeyLoad>();
  for (const sample of window.samples) {
    let load = byKey.get(sample.key);
    if (!load) {
      load = { key: sample.key, meanWcu: 0, meanRcu: 0, peakWcu: 0, peakRcu: 0 };
      byKey.set(sample.key, load);
    }
    load.meanWcu += sample.wcu / window.seconds;
    load.meanRcu += sample.rcu / window.seconds;
    load.peakWcu = Math.max(load.peakWcu, sample.wcu);
    load.peakRcu = Math.max(load.peakRcu, sample.rcu);
  }
  return [...byKey.values()].sort((a, b) => b.meanWcu - a.meanWcu);
}
