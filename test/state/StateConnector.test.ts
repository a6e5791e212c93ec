import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../../shared/aws/clients.ts';
import * as ENV from '../../shared/config.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import {
  LeaseLostError,
  LeaseWaitTimeoutError,
  StateEncodingError,
  StateNameTooLongError,
  StateNotFoundError,
  StateValueTooLargeError,
} from '../../shared/state/errors.ts';
import * as LIMITS from '../../shared/limits.ts';
import { ensureLength, objectKey, stateKey } from '../../shared/state/keys.ts';
import type { TimingHook } from '../../shared/state/types.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

/** Buildbot's master/buildbot/test/unit/db/test_state.py, against DynamoDB Local through the local stack. */
let stack: TestStack;
let client: DynamoDBDocumentClient;
let tableName: string;
let state: StateConnector;
let objectId: number;
let unique = 0;

/** A state name no other test uses. */
function fresh(prefix: string): string {
  unique += 1;
  return `${prefix}-${unique}`;
}

function hooked(hook: TimingHook): StateConnector {
  return new StateConnector({ client, tableName, testTimingHook: hook });
}

async function putRaw(item: Record<string, unknown>): Promise<void> {
  await client.send(new PutCommand({ TableName: tableName, Item: item }));
}

async function getRaw(key: { pk: string; sk: string }): Promise<Record<string, unknown> | undefined> {
  const { Item } = await client.send(
    new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
  );
  return Item;
}

const NOTHING = Symbol('nothing stored');

describe('StateConnector', () => {
  before(async () => {
    stack = await useStack();
    client = dynamoDocumentClient();
    tableName = stack.env[ENV.stateTable] ?? '';
    state = StateConnector.fromEnv();
    objectId = await state.getObjectId('state-tests', 'StateConnectorTest');
  });

  after(async () => {
    await stack?.release();
  });

  describe('getObjectId', () => {
    it('allocates a new id for a new (name, className) and returns it again from another process-level connector', async () => {
      // Act
      const id = await state.getObjectId('someobj', 'someclass');
      // Assess
      assert.ok(Number.isInteger(id) && id > 0);
      assert.equal(await StateConnector.fromEnv().getObjectId('someobj', 'someclass'), id);
      assert.notEqual(await state.getObjectId('someobj', 'otherclass'), id);
    });

    it('returns the id already stored for an existing object', async () => {
      // Prepare
      await putRaw({
        ...objectKey('existing', 'someclass'),
        objectId: 19,
        name: 'existing',
        className: 'someclass',
      });
      // Act
      const id = await StateConnector.fromEnv().getObjectId('existing', 'someclass');
      // Assess
      assert.equal(id, 19);
    });

    it("returns the winner's id when another process claims the key between the read and the write", async () => {
      // Prepare
      const key = objectKey('conflicted', 'someclass');
      const connector = hooked(async () => {
        await putRaw({ ...key, objectId: 27, name: 'conflicted', className: 'someclass' });
      });
      // Act
      const id = await connector.getObjectId('conflicted', 'someclass');
      // Assess
      assert.equal(id, 27);
      assert.equal((await getRaw(key))?.objectId, 27);
    });

    it('gives a name over the key limit a shortened key with a hash, and the same id every time', async () => {
      // Prepare
      const long = 'x'.repeat(LIMITS.objectNameBytes * 3);
      // Act
      const id = await state.getObjectId(long, 'someclass');
      // Assess
      const stored = await getRaw({
        pk: `OBJKEY#someclass#${ensureLength(long, LIMITS.objectNameBytes)}`,
        sk: 'OBJKEY',
      });
      assert.equal(stored?.objectId, id);
      assert.equal(await StateConnector.fromEnv().getObjectId(long, 'someclass'), id);
      assert.notEqual(await state.getObjectId(`${long}y`, 'someclass'), id);
    });

    it('refuses a className over its limit with StateNameTooLongError', async () => {
      await assert.rejects(
        state.getObjectId('n', 'C'.repeat(LIMITS.classNameBytes + 1)),
        StateNameTooLongError,
      );
    });
  });

  describe('getState', () => {
    it('throws StateNotFoundError (404) for a missing value and no default', async () => {
      await assert.rejects(
        state.getState(objectId, fresh('missing')),
        (error: unknown) => error instanceof StateNotFoundError && error.statusCode === 404,
      );
    });

    it('returns the default for a missing value, even null or undefined', async () => {
      // Prepare
      const name = fresh('missing');
      // Act + Assess
      assert.equal(await state.getState(objectId, name, 'dflt'), 'dflt');
      assert.equal(await state.getState(objectId, name, null), null);
      assert.equal(await state.getState(objectId, name, undefined), undefined);
    });

    it('returns a stored value', async () => {
      // Prepare
      const name = fresh('present');
      await putRaw({ ...stateKey(objectId, name), name, value: '[1,2]' });
      // Act
      const value = await state.getState(objectId, name);
      // Assess
      assert.deepEqual(value, [1, 2]);
    });

    it('throws StateEncodingError for stored text that is not JSON', async () => {
      // Prepare
      const name = fresh('bad-json');
      await putRaw({ ...stateKey(objectId, name), name, value: '{not json' });
      // Act + Assess
      await assert.rejects(state.getState(objectId, name), StateEncodingError);
    });
  });

  describe('setState', () => {
    it('stores a new value as JSON text and returns it', async () => {
      // Prepare
      const name = fresh('new');
      // Act
      const returned = await state.setState(objectId, name, { a: [1, null] });
      // Assess
      assert.deepEqual(returned, { a: [1, null] });
      assert.equal((await getRaw(stateKey(objectId, name)))?.value, '{"a":[1,null]}');
      assert.deepEqual(await state.getState(objectId, name), { a: [1, null] });
    });

    it('overwrites an existing value', async () => {
      // Prepare
      const name = fresh('existing');
      await state.setState(objectId, name, 'old');
      // Act
      const returned = await state.setState(objectId, name, 'new');
      // Assess
      assert.equal(returned, 'new');
      assert.equal(await state.getState(objectId, name), 'new');
    });

    it("returns the first writer's value when another process creates it between the update and the insert", async () => {
      // Prepare
      const name = fresh('conflict');
      const connector = hooked(async () => {
        await putRaw({ ...stateKey(objectId, name), name, value: '22' });
      });
      // Act
      const returned = await connector.setState(objectId, name, 99);
      // Assess
      assert.equal(returned, 22);
      assert.equal(await state.getState(objectId, name), 22);
    });

    it('refuses a value that is not JSON-able with StateEncodingError and stores nothing', async () => {
      // Prepare
      const name = fresh('not-jsonable');
      // Act + Assess
      for (const value of [() => 1, { f: () => 1 }, 10n, undefined, Symbol('s')])
        await assert.rejects(state.setState(objectId, name, value), StateEncodingError);
      assert.equal(await state.getState(objectId, name, NOTHING), NOTHING);
    });

    it('refuses a value over the size limit with StateValueTooLargeError and keeps the old value', async () => {
      // Prepare
      const name = fresh('too-large');
      await state.setState(objectId, name, 'small');
      // Act + Assess
      await assert.rejects(state.setState(objectId, name, 'x'.repeat(400 * 1024)), StateValueTooLargeError);
      assert.equal(await state.getState(objectId, name), 'small');
    });
  });

  describe('atomicCreateState', () => {
    it('runs create() and stores its value when there is none', async () => {
      // Prepare
      const name = fresh('create-new');
      // Act
      const value = await state.atomicCreateState(objectId, name, () => ({ made: true }));
      // Assess
      assert.deepEqual(value, { made: true });
      assert.deepEqual(await state.getState(objectId, name), { made: true });
    });

    it('returns an existing value as it is without running create()', async () => {
      // Prepare
      const name = fresh('create-existing');
      await state.setState(objectId, name, null);
      let ran = false;
      // Act
      const outcome = await state.atomicCreateStateOutcome(objectId, name, () => (ran = true));
      // Assess
      assert.deepEqual(outcome, { value: null, created: false });
      assert.equal(ran, false);
    });

    it("returns the winner's value when another process stores one between create() and the put", async () => {
      // Prepare
      const name = fresh('create-conflict');
      const connector = hooked(async () => {
        await putRaw({ ...stateKey(objectId, name), name, value: '22' });
      });
      // Act
      const outcome = await connector.atomicCreateStateOutcome(objectId, name, () => 99);
      // Assess
      assert.deepEqual(outcome, { value: 22, created: false });
      assert.equal(await state.getState(objectId, name), 22);
    });

    it('refuses a created value that is not JSON-able with StateEncodingError and stores nothing', async () => {
      // Prepare
      const name = fresh('create-not-jsonable');
      // Act + Assess
      await assert.rejects(
        state.atomicCreateState(objectId, name, () => ({ f: () => 1 })),
        StateEncodingError,
      );
      await assert.rejects(
        state.atomicCreateState(objectId, name, () => () => 1, { exactlyOnce: true }),
        StateEncodingError,
      );
      assert.equal(await state.getState(objectId, name, NOTHING), NOTHING);
      assert.equal(await getRaw(stateKey(objectId, name)), undefined, 'the exactlyOnce lease was released');
    });
  });

  describe('atomicCreateState exactlyOnce', () => {
    it('runs create() once for 16 concurrent callers, which all get its value', async () => {
      // Prepare
      const name = fresh('once');
      let runs = 0;
      const create = async (): Promise<number> => {
        runs += 1;
        await sleep(100);
        return runs;
      };
      // Act
      const values = await Promise.all(
        Array.from({ length: 16 }, () =>
          StateConnector.fromEnv().atomicCreateState(objectId, name, create, { exactlyOnce: true }),
        ),
      );
      // Assess
      assert.equal(runs, 1);
      assert.deepEqual(new Set(values), new Set([1]));
    });

    it('reads a value still being created as missing', async () => {
      // Prepare
      const name = fresh('pending');
      let finish = (): void => undefined;
      const creating = state.atomicCreateState(
        objectId,
        name,
        () => new Promise<string>((resolve) => (finish = () => resolve('done'))),
        {
          exactlyOnce: true,
        },
      );
      while ((await getRaw(stateKey(objectId, name))) === undefined) await sleep(10);
      // Act
      const during = await state.getState(objectId, name, NOTHING);
      finish();
      // Assess
      assert.equal(during, NOTHING);
      assert.equal(await creating, 'done');
    });

    it('releases the lease when create() throws, stores nothing and rethrows, so the next caller creates at once', async () => {
      // Prepare
      const name = fresh('throws');
      const leaseMs = 10_000;
      // Act
      await assert.rejects(
        state.atomicCreateState(objectId, name, () => Promise.reject(new Error('boom')), {
          exactlyOnce: true,
          leaseMs,
        }),
        /boom/,
      );
      const startedAt = Date.now();
      const value = await state.atomicCreateState(objectId, name, () => 'second', {
        exactlyOnce: true,
        leaseMs,
      });
      // Assess
      assert.equal(value, 'second');
      assert.ok(Date.now() - startedAt < leaseMs / 2, 'did not wait for the lease to expire');
    });

    it('fences out a holder whose lease expired and was taken over: LeaseLostError carries the stored value', async () => {
      // Prepare
      const name = fresh('fenced');
      const late = state.atomicCreateState(objectId, name, () => sleep(600).then(() => 'late'), {
        exactlyOnce: true,
        leaseMs: 200,
      });
      // The late holder's lease is stored before the taker comes (a fixed 50 ms lost that race on a loaded machine).
      while ((await getRaw(stateKey(objectId, name))) === undefined) await sleep(10);
      // Act
      const taker = await StateConnector.fromEnv().atomicCreateStateOutcome(objectId, name, () => 'taker', {
        exactlyOnce: true,
        leaseMs: 200,
      });
      // Assess
      assert.deepEqual(taker, { value: 'taker', created: true });
      await assert.rejects(
        late,
        (error: unknown) => error instanceof LeaseLostError && error.details.storedValue === 'taker',
      );
      assert.equal(await state.getState(objectId, name), 'taker');
    });

    it('gives up with LeaseWaitTimeoutError after 3 × leaseMs when the lease never frees', async () => {
      // Prepare
      const name = fresh('stuck');
      await putRaw({
        ...stateKey(objectId, name),
        name,
        leaseOwner: 'someone',
        leaseExpiresAt: Date.now() + 60_000,
      });
      const startedAt = Date.now();
      // Act
      await assert.rejects(
        state.atomicCreateState(objectId, name, () => 'never', { exactlyOnce: true, leaseMs: 100 }),
        LeaseWaitTimeoutError,
      );
      // Assess
      assert.ok(Date.now() - startedAt >= 300);
      assert.equal((await getRaw(stateKey(objectId, name)))?.leaseOwner, 'someone');
    });

    it('lets a setState replace a pending create, whose holder then gets LeaseLostError', async () => {
      // Prepare
      const name = fresh('set-over-pending');
      const creating = state.atomicCreateState(objectId, name, () => sleep(300).then(() => 'created'), {
        exactlyOnce: true,
      });
      while ((await getRaw(stateKey(objectId, name))) === undefined) await sleep(10);
      // Act
      const set = await state.setState(objectId, name, 'set');
      // Assess
      assert.equal(set, 'set');
      await assert.rejects(creating, LeaseLostError);
      assert.equal(await state.getState(objectId, name), 'set');
    });
  });
});
