// Owns Buildbot's state connector on DynamoDB, the simple path: object ids, getState, setState, updateState, atomicCreateState.
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionFailedError } from '../aws/errors.ts';
import { conditionalPut } from '../aws/conditionalWrite.ts';
import { awsEndpoint, documentClientOf, dynamoDocumentClient, perEndpoint } from '../aws/clients.ts';
import * as ENV from '../config.ts';
import { currentEnv, requireEnv } from '../env.ts';
import type { Env } from '../env.ts';
import { ConflictError, ValidationError } from '../errors.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { StateNotFoundError } from './errors.ts';
import { objectIdCounterKey, objectKey, stateKey } from './keys.ts';
import type { TableKey } from './keys.ts';
import { DEFAULT_LEASE_MS, createExactlyOnce } from './lease.ts';
import { asObjectKeyItem, putState, readObjectKey, readState } from './table.ts';
import type { StateTable } from './table.ts';
import type {
  AtomicCreateOptions,
  CounterItem,
  CreateOutcome,
  ObjectKeyItem,
  StateConnectorOptions,
  StateItem,
  UpdateOutcome,
} from './types.ts';

/** Object ids cached per connector; ids never change, the bound only caps memory. @default 10_000 */
const ID_CACHE_ENTRIES = 10_000;
/** setState rounds of overwrite-then-insert before giving up (only a lease taken and released in between loses one). */
const SET_STATE_ROUNDS = 3;
/** updateState rounds of read, update(), conditional put before giving up (each lost round means another write landed). */
const UPDATE_STATE_ROUNDS = 5;

/** StateConnector.forEnv's connectors, one per endpoint and table. */
const connectors = perEndpoint<StateConnector>();

function checkObjectId(objectId: number): void {
  if (!Number.isSafeInteger(objectId) || objectId < 1)
    throw new ValidationError(`objectId must be a positive integer, got ${String(objectId)}`, {
      details: { objectId },
    });
}

/**
 * Buildbot's StateConnectorComponent (master/buildbot/db/state.py) on one DynamoDB table: object ids
 * by (name, className), and per-object JSON state. Every write that can race is a conditional put;
 * the comment above each one draws the race and says who wins. The exactlyOnce lease of
 * atomicCreateState is in lease.ts. Make one connector per process (at module scope in a Lambda) so
 * its id cache outlives one invocation.
 */
export class StateConnector {
  private readonly table: StateTable;
  private readonly objectIds = new Map<string, number>();

  constructor(opts: StateConnectorOptions) {
    const hook = opts.testTimingHook;
    this.table = {
      client: opts.client,
      tableName: opts.tableName,
      timingHook: async (point) => {
        if (hook) await hook(point);
      },
    };
  }

  /** A new connector for `env`'s table: STATE_TABLE and the SDK's endpoint settings (a local stack's, else process.env). */
  static fromEnv(env: Env = currentEnv()): StateConnector {
    return new StateConnector({
      client: dynamoDocumentClient(env),
      tableName: requireEnv(ENV.stateTable, env),
    });
  }

  /**
   * The process's connector for `env`'s table and endpoints, made on the first call: a Lambda's handler calls
   * this per invocation, and the id cache lives as long as its container (a local stack has its own).
   */
  static forEnv(env: Env = currentEnv()): StateConnector {
    const endpoint = awsEndpoint(env);
    const tableName = requireEnv(ENV.stateTable, env);
    return connectors(
      endpoint,
      tableName,
      () => new StateConnector({ client: documentClientOf(endpoint), tableName }),
    );
  }

  /**
   * One integer id per (name, className), the same from every process, forever. Names over
   * LIMITS.objectNameBytes are shortened (keys.ts ensureLength); a className over its limit is a
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
    const found = await readObjectKey(this.table, key);
    if (found) return found.objectId;

    await this.table.timingHook('getObjectId');
    const objectId = await this.allocateObjectId();
    const item: ObjectKeyItem = { ...key, objectId, name, className };
    // Race: A and B both read no key and each draws an id from the counter (A: 7, B: 8).
    //   A: put key → 7 (attribute_not_exists holds)     ──────▶ A returns 7
    //   B: put key → 8 (condition fails, ALL_OLD = A's)  ──────▶ B returns 7; 8 stays unused
    // The first put wins; the loser reads the winner's id from the failed write itself.
    const claimed = await conditionalPut(this.table.client, {
      tableName: this.table.tableName,
      item,
      condition: { keyUnclaimed: 'attribute_not_exists(pk)' },
      decode: asObjectKeyItem,
    });
    if (claimed.won) return objectId;
    if (!claimed.old) throw new ConditionFailedError(`claiming the id of ${className} ${name}`, claimed);
    return claimed.old.objectId;
  }

  private async allocateObjectId(): Promise<number> {
    const { Attributes } = await this.table.client.send(
      new UpdateCommand({
        TableName: this.table.tableName,
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
    const item = await readState(this.table, stateKey(objectId, name));
    if (item?.value === undefined) {
      // The rest parameter tells "no default" from "default undefined", as Buildbot's Thunk does.
      if (defaultValue.length === 0) throw new StateNotFoundError(objectId, name);
      return defaultValue[0];
    }
    return decodeValue(item.value, objectId, name);
  }

  /**
   * Stores `value`, overwriting what is there, and returns the value actually stored: when two callers
   * race to create a missing value the first wins and the second gets the first's value back. Not
   * JSON-able: StateEncodingError; over LIMITS.stateValueBytes: StateValueTooLargeError; nothing is written.
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
      const updated = await putState(this.table, item, { itemExists: 'attribute_exists(pk)' });
      if (updated.won) return JSON.parse(text);

      await this.table.timingHook('setState');
      // Race: A and B both found nothing to update.
      //   A: insert (attribute_not_exists holds)          ──────▶ A returns its value
      //   B: insert (condition fails, ALL_OLD = A's item)  ──────▶ B returns A's value, writes nothing
      // The first insert wins.
      const inserted = await putState(this.table, item, { nothingThere: 'attribute_not_exists(pk)' });
      if (inserted.won) return JSON.parse(text);
      if (inserted.old?.value !== undefined) return decodeValue(inserted.old.value, objectId, name);
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
      const read = (await readState(this.table, key))?.value;
      const current = read === undefined ? undefined : decodeValue(read, objectId, name);
      const next = update(current);
      if (next === undefined) return { value: current, updated: false };
      const text = encodeValue(next);

      await this.table.timingHook('updateState');
      // Race: A and B both read value V (or nothing) and each computed its own next value.
      //   A: put if value = V (still V)                   ──────▶ A's value is stored
      //   B: put if value = V (fails: A's is there)       ──────▶ B reads A's value, calls update again
      // The first put wins; the loser decides again on the winner's value, so no update is lost.
      const outcome = await putState(
        this.table,
        { ...key, name, value: text },
        read === undefined
          ? { stillNoValue: 'attribute_not_exists(#value)' }
          : { valueAsRead: '#value = :read' },
        { names: { '#value': 'value' }, values: read === undefined ? {} : { ':read': read } },
      );
      if (outcome.won) return { value: JSON.parse(text), updated: true };
    }
    throw new ConflictError(
      `state value '${name}' of object ${objectId} changed under ${UPDATE_STATE_ROUNDS} updates in a row; try again`,
      { details: { objectId, name } },
    );
  }

  /**
   * An existing value is returned as it is. Otherwise create() runs and its value is stored with a
   * conditional put; a racing loser returns the winner's value. With `exactlyOnce`, create() itself
   * runs once across the cluster (lease.ts).
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
    if (opts.exactlyOnce) return createExactlyOnce(this.table, key, objectId, name, create, leaseMs);

    const existing = await readState(this.table, key);
    if (existing?.value !== undefined)
      return { value: decodeValue(existing.value, objectId, name), created: false };
    const text = encodeValue(await create());

    await this.table.timingHook('atomicCreateState');
    // Race: A and B both read no value and both ran create().
    //   A: put (no value there yet)                     ──────▶ A returns its value, created
    //   B: put (condition fails, ALL_OLD = A's value)    ──────▶ B returns A's value
    // The first put wins. A pending exactlyOnce lease is "no value": this put replaces it, and the lease
    // holder's fenced completion then fails (LeaseLostError).
    const outcome = await putState(
      this.table,
      { ...key, name, value: text },
      { stillNoValue: 'attribute_not_exists(#value)' },
      { names: { '#value': 'value' } },
    );
    if (outcome.won) return { value: JSON.parse(text), created: true };
    return { value: decodeValue(outcome.old?.value, objectId, name), created: false };
  }
}
