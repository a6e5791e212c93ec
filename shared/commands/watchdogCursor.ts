// Owns the watchdog's persisted cursors, one per shard of dueByDeadline: read together, written one by one, never moved back.
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { conditionalPut, itemDecoder } from '../aws/conditionalWrite.ts';
import { BuildbotError } from '../errors.ts';
import type { CommandsContext } from './context.ts';
import { watchdogCursorKey } from './keys.ts';

/** A shard's cursor item (access pattern 8). */
interface CursorItem {
  pk: string;
  sk: string;
  passed: number;
}

const asCursorItem = itemDecoder<CursorItem>('watchdog cursor', {
  pk: 'string',
  sk: 'string',
  passed: 'number',
});

/**
 * The persisted cursors of `shards` (one BatchGetItem, consistent), 0 (the start of the index) for a shard that
 * has none yet: a new shard, or the legacy one on a table made after the index was sharded.
 */
export async function readCursors(ctx: CommandsContext, shards: string[]): Promise<Map<string, number>> {
  const bySk = new Map(shards.map((shard) => [watchdogCursorKey(shard).sk, shard]));
  const cursors = new Map(shards.map((shard) => [shard, 0]));
  let pending: Record<string, NativeAttributeValue>[] = shards.map((shard) => watchdogCursorKey(shard));
  for (let round = 0; pending.length > 0; round++) {
    // A throttled read is retried by the SDK; what DynamoDB still leaves unprocessed after a few rounds
    // fails the run (it would start those shards from 0: correct, but it would read their whole history).
    if (round === 5)
      throw new BuildbotError(`watchdog cursors left unread: ${pending.map((key) => key.sk).join(', ')}`);
    const answer = await ctx.db.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const raw of answer.Responses?.[ctx.tableName] ?? []) {
      const item = asCursorItem({ ...raw });
      const shard = bySk.get(item.sk);
      if (shard !== undefined) cursors.set(shard, item.passed);
    }
    pending = answer.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
  }
  return cursors;
}

export async function writeCursor(ctx: CommandsContext, shard: string, passed: number): Promise<void> {
  // Race: two watchdog runs (overlapping schedules, two containers) persist a shard's cursor.
  //   A: put passed=P1 if missing or below P1 ✓        B: put passed=P2 < P1 if below P2 ✗ (keeps P1)
  // The furthest cursor wins; each was valid when computed, and settled entries stay settled, so the
  // furthest one is valid too. The cursor never moves back. Shards have cursors of their own: no two
  // shards' runs write the same item.
  await conditionalPut(ctx.db, {
    tableName: ctx.tableName,
    item: { ...watchdogCursorKey(shard), passed },
    condition: { absentOrBehind: 'attribute_not_exists(pk) OR passed < :passed' },
    values: { ':passed': passed },
    decode: asCursorItem,
  });
}
