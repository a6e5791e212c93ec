// Tests the conditional-write helper against DynamoDB Local through the local stack.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import { ConditionFailedError, ItemDecodeError } from '../../shared/aws/errors.ts';
import {
  conditionalDelete,
  conditionalPut,
  conditionalUpdate,
  itemDecoder,
} from '../../shared/aws/conditionalWrite.ts';
import * as ENV from '../../shared/config.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

interface Row {
  pk: string;
  sk: string;
  status: string;
  count: number;
  note?: string;
}

const asRow = itemDecoder<Row>('test row', {
  pk: 'string',
  sk: 'string',
  status: 'string',
  count: 'number',
  note: 'string?',
});

let stack: TestStack;
let db: DynamoDBDocumentClient;
let tableName: string;
let unique = 0;

function freshKey(): { pk: string; sk: string } {
  unique += 1;
  return { pk: `TEST#conditionalWrite-${process.pid}-${unique}`, sk: 'ROW' };
}

async function stored(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
  const { pk, sk } = key;
  const { Item } = await db.send(
    new GetCommand({ TableName: tableName, Key: { pk, sk }, ConsistentRead: true }),
  );
  return Item;
}

const stillQueued = {
  condition: { recordExists: 'attribute_exists(pk)', stillQueued: '#status = :queued' },
  names: { '#status': 'status' },
  values: { ':queued': 'queued' },
};

/** queued → running on the row under `key`, if it is there and still queued. */
function markRunning(key: { pk: string; sk: string }) {
  return conditionalUpdate(db, {
    tableName,
    key,
    update: 'SET #status = :running',
    ...stillQueued,
    values: { ...stillQueued.values, ':running': 'running' },
    decode: asRow,
  });
}

describe('conditionalWrite', () => {
  before(async () => {
    stack = await useStack();
    db = dynamoDocumentClient();
    tableName = stack.env[ENV.stateTable] ?? '';
  });

  after(async () => {
    await stack?.release();
  });

  it('returns the item it wrote when a put wins', async () => {
    // Prepare
    const row: Row = { ...freshKey(), status: 'queued', count: 1 };
    // Act
    const outcome = await conditionalPut(db, {
      tableName,
      item: row,
      condition: { notRecorded: 'attribute_not_exists(pk)' },
      decode: asRow,
    });
    // Assess
    assert.deepEqual(outcome, { won: true, item: row });
    assert.deepEqual(await stored(row), row);
  });

  it('returns the stored item when a put loses, and writes nothing', async () => {
    // Prepare
    const first: Row = { ...freshKey(), status: 'queued', count: 1 };
    await db.send(new PutCommand({ TableName: tableName, Item: first }));
    // Act
    const outcome = await conditionalPut(db, {
      tableName,
      item: { ...first, count: 2 },
      condition: { notRecorded: 'attribute_not_exists(pk)' },
      decode: asRow,
    });
    // Assess
    assert.deepEqual(outcome, { won: false, old: first, parts: ['notRecorded'] });
    assert.deepEqual(await stored(first), first);
  });

  it('returns the item after a won update, and the item before a won update that asks for it', async () => {
    // Prepare
    const row: Row = { ...freshKey(), status: 'queued', count: 1 };
    await db.send(new PutCommand({ TableName: tableName, Item: row }));
    const claim = {
      tableName,
      key: { pk: row.pk, sk: row.sk },
      update: 'SET #status = :running, #count = #count + :one',
      ...stillQueued,
      names: { ...stillQueued.names, '#count': 'count' },
      values: { ...stillQueued.values, ':running': 'running', ':one': 1 },
      decode: asRow,
    };
    // Act
    const won = await conditionalUpdate(db, claim);
    const lost = await conditionalUpdate(db, { ...claim, returns: 'ALL_OLD' });
    // Assess
    assert.deepEqual(won, { won: true, item: { ...row, status: 'running', count: 2 } });
    assert.deepEqual(lost, {
      won: false,
      old: { ...row, status: 'running', count: 2 },
      parts: ['recordExists', 'stillQueued'],
    });
  });

  it('reports a lost update on a missing item with no old item, and creates nothing', async () => {
    // Prepare
    const key = freshKey();
    // Act
    const outcome = await markRunning(key);
    // Assess
    assert.deepEqual(outcome, { won: false, old: undefined, parts: ['recordExists', 'stillQueued'] });
    assert.equal(await stored(key), undefined);
    if (outcome.won) return;
    const error = new ConditionFailedError('claim of a missing row', outcome);
    assert.match(error.message, /recordExists AND stillQueued did not hold and no item was there/);
  });

  it('deletes only while the condition holds, returning the deleted item or the one that stayed', async () => {
    // Prepare
    const queued: Row = { ...freshKey(), status: 'queued', count: 1 };
    const running: Row = { ...freshKey(), status: 'running', count: 1 };
    await db.send(new PutCommand({ TableName: tableName, Item: queued }));
    await db.send(new PutCommand({ TableName: tableName, Item: running }));
    const withdraw = (row: Row) =>
      conditionalDelete(db, { tableName, key: { pk: row.pk, sk: row.sk }, ...stillQueued, decode: asRow });
    // Act
    const deleted = await withdraw(queued);
    const kept = await withdraw(running);
    // Assess
    assert.deepEqual(deleted, { won: true, item: queued });
    assert.deepEqual(kept, { won: false, old: running, parts: ['recordExists', 'stillQueued'] });
    assert.equal(await stored(queued), undefined);
    assert.deepEqual(await stored(running), running);
  });

  it('rethrows an error that is not a failed condition', async () => {
    // Prepare: a value the condition names is not given, which DynamoDB refuses before it looks at the item
    const row: Row = { ...freshKey(), status: 'queued', count: 1 };
    // Act
    const attempt = conditionalPut(db, {
      tableName,
      item: row,
      condition: { stillQueued: '#status = :queued' },
      names: { '#status': 'status' },
      decode: asRow,
    });
    // Assess
    await assert.rejects(attempt, (error: Error) => error.name === 'ValidationException');
  });

  it('names the attribute when the item that made a write lose lacks one', async () => {
    // Prepare: a stored row without `count`, which the decoder requires
    const key = freshKey();
    await db.send(new PutCommand({ TableName: tableName, Item: { ...key, status: 'running' } }));
    // Act
    const attempt = markRunning(key);
    // Assess
    await assert.rejects(attempt, (error: unknown) => {
      assert.ok(error instanceof ItemDecodeError);
      assert.equal(error.attribute, 'count');
      assert.match(error.message, /test row: attribute count is missing, expected number/);
      return true;
    });
  });

  it('names the attribute when an item has one of another type', () => {
    // Prepare
    const raw = { pk: 'p', sk: 's', status: 'queued', count: 1, note: 7 };
    // Act, Assess
    assert.throws(
      () => asRow(raw),
      (error: unknown) => error instanceof ItemDecodeError && error.attribute === 'note',
    );
  });
});
