import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient, PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient } from '../aws/clients.ts';
import { ENV, requireEnv } from '../config.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { LeaseLostError, LeaseWaitTimeoutError, StateNotFoundError } from './errors.ts';
import { objectIdCounterKey, objectKey, stateKey } from './keys.ts';
import type { TableKey } from './keys.ts';
import type {
  AtomicCreateOptions,
  CounterItem,
  CreateOutcome,
  ObjectKeyItem,
  StateConnectorOptions,
  StateItem,
  TimingHook,
  TimingHookPoint,
  UpdateOutcome,
} from './types.ts';

/** exactlyOnce: how long a lease lasts unless the caller says otherwise. @default 10_000 ms */
export const DEFAULT_LEASE_MS = 10_000;
/** exactlyOnce: a waiter gives up after this many lease lengths without a value or a free lease. @default 3 */
export const WAIT_LEASES = 3;
/** exactlyOnce: first and largest pause between a waiter's reads (doubling, with jitter). */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 500;
/** Object ids cached per connector; ids never change, the bound only caps memory. @default 10_000 */
const ID_CACHE_ENTRIES = 10_000;
/** setState rounds of overwrite-then-insert before giving up (only a lease taken and released in between loses one). */
const SET_STATE_ROUNDS = 3;
/** updateState rounds of read, update(), conditional put before giving up (each lost round means another write landed). */
const UPDATE_STATE_ROUNDS = 5;

type RawItem = Record<string, AttributeValue>;
type PutOutcome = { stored: true } | { stored: false; old: RawItem };

/**
 * The item DynamoDB returned with a failed condition (ReturnValuesOnConditionCheckFailure: ALL_OLD),
 * in its raw AttributeValue form: the DocumentClient does not unmarshall errors. Only a failed
 * condition becomes an outcome; every other error is rethrown.
 */
function conditionFailedItem(error: unknown): RawItem {
  if ((error as Error | undefined)?.name !== 'ConditionalCheckFailedException') throw error;
  return (error as { Item?: RawItem }).Item ?? {};
}

/** The fields of a raw state item this connector reads. */
function rawStateItem(raw: RawItem): Pick<StateItem, 'value' | 'leaseOwner' | 'leaseExpiresAt'> {
  const expires = raw.leaseExpiresAt?.N;
  return {
    value: raw.value?.S,
    leaseOwner: raw.leaseOwner?.S,
    leaseExpiresAt: expires === undefined ? undefined : Number(expires),
  };
}

function checkObjectId(objectId: number): void {
  if (!Number.isSafeInteger(objectId) || objectId < 1)
    throw new ValidationError(`objectId must be a positive integer, got ${String(objectId)}`, {
      details: { objectId },
    });
}

/**
 * Buildbot's StateConnectorComponent (master/buildbot/db/state.py) on one DynamoDB table: object ids
 * by (name, className), and per-object JSON state. Every write that can race is a conditional put;
 * the comment above each one draws the race and says who wins. Make one connector per process (at
 * module scope in a Lambda) so its id cache outlives one invocation.
 */
export class StateConnector {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly testTimingHook: TimingHook | undefined;
  private readonly objectIds = new Map<string, number>();

  constructor(opts: StateConnectorOptions) {
    this.client = opts.client;
    this.tableName = opts.tableName;
    this.testTimingHook = opts.testTimingHook;
  }

  /** The connector for this process's table: STATE_TABLE and the SDK's endpoint settings. */
  static fromEnv(): StateConnector {
    return new StateConnector({ client: dynamoDocumentClient(), tableName: requireEnv(ENV.stateTable) });
  }

  /**
   * One integer id per (name, className), the same from every process, forever. Names over
   * KEY_LIMITS.objectNameBytes are shortened (keys.ts ensureLength); a className over its limit is a
   * StateNameTooLongError. Ids come from a counter, so a lost race leaves a gap in the sequence.
   */
  async getObjectId(name: string, className: string): Promise<number> {
    const key = objectKey(name, className);
    const cached = this.objectIds.get(key.pk);
    if (cached !== undefined) return cached;
    const objectId = await this.findOrClaimObjectId(key, name, className);
    const oldest = this.objectIds.keys().next();
    if (this.objectIds.size >= ID_CACHE_ENTRIES && !oldest.done) this.objectIds.delete(oldest.value);
    this.objectIds.set(key.pk, objectId);
    return objectId;
  }

  private async findOrClaimObjectId(key: TableKey, name: string, className: string): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (Item) return (Item as ObjectKeyItem).objectId;

    await this.timingHook('getObjectId');
    const objectId = await this.allocateObjectId();
    const item: ObjectKeyItem = { ...key, objectId, name, className };
    // Race: A and B both read no key and each draws an id from the counter (A: 7, B: 8).
    //   A: put key → 7 (attribute_not_exists holds)     ──────▶ A returns 7
    //   B: put key → 8 (condition fails, ALL_OLD = A's)  ──────▶ B returns 7; 8 stays unused
    // The first put wins; the loser reads the winner's id from the failed write itself.
    const outcome = await this.conditionalPut({
      Item: item,
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (outcome.stored) return objectId;
    return Number(outcome.old.objectId?.N);
  }

  private async allocateObjectId(): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: objectIdCounterKey(),
        UpdateExpression: 'ADD #next :one',
        ExpressionAttributeNames: { '#next': 'next' },
        ExpressionAttributeValues: { ':one': 1 },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return (Attributes as Pick<CounterItem, 'next'>).next;
  }

  /**
   * The stored JSON value. Missing (or still being created under an exactlyOnce lease) and no default
   * given: StateNotFoundError. A default passed as the third argument, even null or undefined, is
   * returned instead. Stored text that is not JSON: StateEncodingError.
   */
  async getState(
    objectId: number,
    name: string,
    ...defaultValue: [defaultValue?: unknown]
  ): Promise<unknown> {
    checkObjectId(objectId);
    const item = await this.readState(stateKey(objectId, name));
    if (item?.value === undefined) {
      // The rest parameter tells "no default" from "default undefined", as Buildbot's Thunk does.
      if (defaultValue.length === 0) throw new StateNotFoundError(objectId, name);
      return defaultValue[0];
    }
    return decodeValue(item.value, objectId, name);
  }

  private async readState(key: TableKey): Promise<StateItem | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return Item as StateItem | undefined;
  }

  /**
   * Stores `value`, overwriting what is there, and returns the value actually stored: when two callers
   * race to create a missing value the first wins and the second gets the first's value back. Not
   * JSON-able: StateEncodingError; over MAX_VALUE_BYTES: StateValueTooLargeError; nothing is written.
   */
  async setState(objectId: number, name: string, value: unknown): Promise<unknown> {
    checkObjectId(objectId);
    const text = encodeValue(value);
    const key = stateKey(objectId, name);
    const item: StateItem = { ...key, name, value: text };
    // Try updating; if that fails, try inserting; if that fails, then we raced with another instance
    // to insert, so let that instance win (Buildbot's thdSetState).
    for (let round = 0; round < SET_STATE_ROUNDS; round++) {
      // Update: an item is there (a value, or a pending exactlyOnce lease, whose holder is then fenced
      // out). Last writer wins, as any overwrite does.
      const updated = await this.conditionalPut({ Item: item, ConditionExpression: 'attribute_exists(pk)' });
      if (updated.stored) return JSON.parse(text);

      await this.timingHook('setState');
      // Race: A and B both found nothing to update.
      //   A: insert (attribute_not_exists holds)          ──────▶ A returns its value
      //   B: insert (condition fails, ALL_OLD = A's item)  ──────▶ B returns A's value, writes nothing
      // The first insert wins.
      const inserted = await this.conditionalPut({
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      if (inserted.stored) return JSON.parse(text);
      const winner = rawStateItem(inserted.old);
      if (winner.value !== undefined) return decodeValue(winner.value, objectId, name);
      // An exactlyOnce lease was taken between our two writes: it is an existing item, update it.
    }
    throw new ConflictError(
      `state value '${name}' of object ${objectId} kept appearing and vanishing; try again`,
      {
        details: { objectId, name },
      },
    );
  }

  /**
   * Read-modify-write with no lost update (beyond Buildbot: a compare-and-set). Reads the value (undefined
   * when missing), calls `update(current)`, and stores what it returns only if the stored value is still
   * the one read; after a lost race it reads again and calls `update` again. `update` returning undefined
   * leaves the value as it is. A pending exactlyOnce lease counts as "no value", as in setState.
   */
  async updateState(
    objectId: number,
    name: string,
    update: (current: unknown) => unknown,
  ): Promise<UpdateOutcome> {
    checkObjectId(objectId);
    const key = stateKey(objectId, name);
    for (let round = 0; round < UPDATE_STATE_ROUNDS; round++) {
      const read = (await this.readState(key))?.value;
      const current = read === undefined ? undefined : decodeValue(read, objectId, name);
      const next = update(current);
      if (next === undefined) return { value: current, updated: false };
      const text = encodeValue(next);

      await this.timingHook('updateState');
      // Race: A and B both read value V (or nothing) and each computed its own next value.
      //   A: put if value = V (still V)                   ──────▶ A's value is stored
      //   B: put if value = V (fails: A's is there)       ──────▶ B reads A's value, calls update again
      // The first put wins; the loser decides again on the winner's value, so no update is lost.
      const outcome = await this.conditionalPut({
        Item: { ...key, name, value: text } satisfies StateItem,
        ...(read === undefined
          ? { ConditionExpression: 'attribute_not_exists(#value)' }
          : { ConditionExpression: '#value = :read', ExpressionAttributeValues: { ':read': read } }),
        ExpressionAttributeNames: { '#value': 'value' },
      });
      if (outcome.stored) return { value: JSON.parse(text), updated: true };
    }
    throw new ConflictError(
      `state value '${name}' of object ${objectId} changed under ${UPDATE_STATE_ROUNDS} updates in a row; try again`,
      { details: { objectId, name } },
    );
  }

  /**
   * An existing value is returned as it is. Otherwise create() runs and its value is stored with a
   * conditional put; a racing loser returns the winner's value. With `exactlyOnce`, create() itself
   * runs once across the cluster (see createExactlyOnce).
   */
  async atomicCreateState(
    objectId: number,
    name: string,
    create: () => unknown,
    opts: AtomicCreateOptions = {},
  ): Promise<unknown> {
    return (await this.atomicCreateStateOutcome(objectId, name, create, opts)).value;
  }

  /** atomicCreateState that also says whether this call stored the value (the HTTP face answers 201 then). */
  async atomicCreateStateOutcome(
    objectId: number,
    name: string,
    create: () => unknown,
    opts: AtomicCreateOptions = {},
  ): Promise<CreateOutcome> {
    checkObjectId(objectId);
    const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
    if (!Number.isFinite(leaseMs) || leaseMs <= 0)
      throw new ValidationError(`leaseMs must be a positive number of milliseconds, got ${leaseMs}`);
    const key = stateKey(objectId, name);
    if (opts.exactlyOnce) return this.createExactlyOnce(key, objectId, name, create, leaseMs);

    const existing = await this.readState(key);
    if (existing?.value !== undefined)
      return { value: decodeValue(existing.value, objectId, name), created: false };
    const text = encodeValue(await create());

    await this.timingHook('atomicCreateState');
    // Race: A and B both read no value and both ran create().
    //   A: put (no value there yet)                     ──────▶ A returns its value, created
    //   B: put (condition fails, ALL_OLD = A's value)    ──────▶ B returns A's value
    // The first put wins. A pending exactlyOnce lease is "no value": this put replaces it, and the lease
    // holder's fenced completion then fails (LeaseLostError).
    const outcome = await this.conditionalPut({
      Item: { ...key, name, value: text } satisfies StateItem,
      ConditionExpression: 'attribute_not_exists(#value)',
      ExpressionAttributeNames: { '#value': 'value' },
    });
    if (outcome.stored) return { value: JSON.parse(text), created: true };
    return { value: decodeValue(rawStateItem(outcome.old).value, objectId, name), created: false };
  }

  /**
   * exactlyOnce: the first caller puts a pending record (a lease: owner token + expiry) and runs
   * create(); the others poll for its value. A lease that expires (its holder died or overran) is
   * taken over by one waiter. The holder's final put is fenced on its owner token.
   *
   *   holder A   ──put lease(A, t0+L)──create()…──────put value if owner=A──▶ value, created
   *   waiter B   ──read: lease A live──sleep──read──sleep──read: value─────▶ value
   *
   *   dead A     ──put lease(A, t0+L)──create()…✗ (killed)
   *   waiter B   ──read: lease A──sleep…── t0+L ──put lease(B) if expired──create()──put if owner=B──▶ value
   *   late A'    ──put lease(A)──create()………(past t0+L)…………──put if owner=A ✗──▶ LeaseLostError
   */
  private async createExactlyOnce(
    key: TableKey,
    objectId: number,
    name: string,
    create: () => unknown,
    leaseMs: number,
  ): Promise<CreateOutcome> {
    const owner = randomUUID();
    const startedAt = Date.now();
    const giveUpAt = startedAt + WAIT_LEASES * leaseMs;
    let pollMs = POLL_FIRST_MS;
    for (;;) {
      let seen = await this.readState(key);
      if (seen?.value !== undefined)
        return { value: decodeValue(seen.value, objectId, name), created: false };

      if (seen === undefined || (seen.leaseExpiresAt ?? 0) <= Date.now()) {
        await this.timingHook('atomicCreateState');
        const now = Date.now();
        const lease: StateItem = { ...key, name, leaseOwner: owner, leaseExpiresAt: now + leaseMs };
        // Race: A and B both see no item (or the same expired lease).
        //   A: put lease (free, or expired and still no value)   ──────▶ A holds it and runs create()
        //   B: put lease (condition fails, ALL_OLD = A's lease)    ──────▶ B waits for A's value
        // The first put wins. An expired lease is judged by this caller's clock against the holder's
        // stamp: clocks skewed by more than a fraction of leaseMs shorten or stretch the takeover.
        const taken = await this.conditionalPut({
          Item: lease,
          ConditionExpression:
            'attribute_not_exists(pk) OR (attribute_not_exists(#value) AND #leaseExpiresAt < :now)',
          ExpressionAttributeNames: { '#value': 'value', '#leaseExpiresAt': 'leaseExpiresAt' },
          ExpressionAttributeValues: { ':now': now },
        });
        if (taken.stored) return this.createUnderLease(key, objectId, name, create, owner);
        const old = rawStateItem(taken.old);
        if (old.value !== undefined) return { value: decodeValue(old.value, objectId, name), created: false };
        seen = { ...key, name, ...old };
      }

      if (Date.now() >= giveUpAt)
        throw new LeaseWaitTimeoutError(
          `no value for state '${name}' of object ${objectId} after ${Date.now() - startedAt} ms ` +
            `(${WAIT_LEASES} × leaseMs ${leaseMs}); a create() is still holding the lease`,
          { details: { objectId, name, leaseExpiresAt: seen.leaseExpiresAt } },
        );
      const untilExpiry = (seen.leaseExpiresAt ?? 0) - Date.now() + 1;
      await sleep(Math.max(1, Math.min(pollMs * (0.5 + Math.random() / 2), untilExpiry)));
      pollMs = Math.min(pollMs * 2, POLL_MAX_MS);
    }
  }

  private async createUnderLease(
    key: TableKey,
    objectId: number,
    name: string,
    create: () => unknown,
    owner: string,
  ): Promise<CreateOutcome> {
    let text: string;
    try {
      text = encodeValue(await create());
    } catch (error) {
      // create() threw or made a value we cannot store: nothing is stored, and a waiter may try.
      await this.releaseLease(key, owner);
      throw error;
    }
    // Fencing. Race: A's lease expired while create() ran and B took it over.
    //   B: put value if leaseOwner = B                 ──────▶ B's value is stored
    //   A: put value if leaseOwner = A (fails: B's)      ──────▶ A gets LeaseLostError, writes nothing
    // The current lease holder wins. If nobody took over, A's put succeeds even past its expiry: no
    // other create() ran.
    const outcome = await this.conditionalPut({
      Item: { ...key, name, value: text } satisfies StateItem,
      ConditionExpression: '#leaseOwner = :owner',
      ExpressionAttributeNames: { '#leaseOwner': 'leaseOwner' },
      ExpressionAttributeValues: { ':owner': owner },
    });
    if (outcome.stored) return { value: JSON.parse(text), created: true };
    const current = rawStateItem(outcome.old);
    const storedValue = current.value === undefined ? undefined : decodeValue(current.value, objectId, name);
    throw new LeaseLostError(
      `the exactlyOnce lease on state '${name}' of object ${objectId} expired while create() ran and was ` +
        `taken over; this create()'s value was not stored (raise leaseMs above create()'s longest run)`,
      {
        details: {
          objectId,
          name,
          hasStoredValue: current.value !== undefined,
          storedValue,
          leaseOwner: current.leaseOwner,
        },
      },
    );
  }

  private async releaseLease(key: TableKey, owner: string): Promise<void> {
    try {
      // Only our own lease: if another caller took it over (or setState replaced it), it is theirs.
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: key,
          ConditionExpression: '#leaseOwner = :owner',
          ExpressionAttributeNames: { '#leaseOwner': 'leaseOwner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      conditionFailedItem(error);
    }
  }

  /** A put that reports a failed condition, with the item that made it fail, instead of throwing. */
  private async conditionalPut(input: Omit<PutCommandInput, 'TableName'>): Promise<PutOutcome> {
    try {
      await this.client.send(
        new PutCommand({
          ...input,
          TableName: this.tableName,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { stored: true };
    } catch (error) {
      return { stored: false, old: conditionFailedItem(error) };
    }
  }

  private async timingHook(point: TimingHookPoint): Promise<void> {
    if (this.testTimingHook) await this.testTimingHook(point);
  }
}
