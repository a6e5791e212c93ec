// DynamoDB Local holds items to DynamoDB's 400 KB, names and values counted: the edge, byte for byte, on the stack's own table.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { clients, commandsFixture } from '../commands/helpers.ts';
import { useStack } from '../support/stack.ts';

const t = commandsFixture(useStack);

/** DynamoDB's item limit: 400 KB, the UTF-8 bytes of every attribute name and string value. */
const ITEM_LIMIT_BYTES = 400 * 1024;

/** An item of exactly `bytes`: its key, and a pad attribute `v` that makes up the rest. */
function itemOf(bytes: number): Record<string, string> {
  const key = { pk: `LIMIT#${randomBytes(8).toString('hex')}`, sk: 'EDGE' };
  const keyBytes = Object.entries(key).reduce((sum, [name, value]) => sum + name.length + value.length, 0);
  return { ...key, v: 'x'.repeat(bytes - keyBytes - 'v'.length) };
}

describe('the 400 KB item limit on the local stack', () => {
  it('stores an item of exactly 400 KB and refuses one byte more with ValidationException', async () => {
    // Prepare
    const { db } = clients(t.stack);
    const atLimit = itemOf(ITEM_LIMIT_BYTES);
    const over = itemOf(ITEM_LIMIT_BYTES + 1);
    // Act
    await db.send(new PutCommand({ TableName: t.h.table, Item: atLimit }));
    const refused = await db
      .send(new PutCommand({ TableName: t.h.table, Item: over }))
      .catch((error: unknown) => error as Error);
    // Assess
    assert.ok(refused instanceof Error, 'the item over the limit was stored');
    assert.equal(refused.name, 'ValidationException');
    assert.match(refused.message, /Item size has exceeded the maximum allowed size/);
    await db.send(new DeleteCommand({ TableName: t.h.table, Key: { pk: atLimit.pk, sk: atLimit.sk } }));
  });

  it('refuses an update that would grow an item past 400 KB, and leaves the item as it was', async () => {
    // Prepare: an item 10 bytes under the limit
    const { db } = clients(t.stack);
    const item = itemOf(ITEM_LIMIT_BYTES - 10);
    await db.send(new PutCommand({ TableName: t.h.table, Item: item }));
    const key = { pk: item.pk, sk: item.sk };
    // Act: "w" + 9 bytes fits exactly; "w" + 10 does not
    await db.send(
      new UpdateCommand({
        TableName: t.h.table,
        Key: key,
        UpdateExpression: 'SET w = :w',
        ExpressionAttributeValues: { ':w': 'y'.repeat(9) },
      }),
    );
    const refused = await db
      .send(
        new UpdateCommand({
          TableName: t.h.table,
          Key: key,
          UpdateExpression: 'SET w = :w',
          ExpressionAttributeValues: { ':w': 'y'.repeat(10) },
          ReturnValues: 'ALL_NEW',
        }),
      )
      .catch((error: unknown) => error as Error);
    // Assess
    assert.ok(refused instanceof Error, 'the update past the limit was applied');
    assert.equal(refused.name, 'ValidationException');
    await db.send(new DeleteCommand({ TableName: t.h.table, Key: key }));
  });
});
