// Owns atomicCreateState's exactlyOnce lease: one create() across the cluster, waiters polling, takeover on expiry, a fenced final put.
import { randomUUID } from 'node:crypto';
import { conditionalDelete } from '../aws/conditionalWrite.ts';
import { Backoff, sleep } from '../retry.ts';
import { decodeValue, encodeValue } from './codec.ts';
import { LeaseLostError, LeaseWaitTimeoutError } from './errors.ts';
import type { TableKey } from './keys.ts';
import { asStateItem, putState, readState } from './table.ts';
import type { StateTable } from './table.ts';
import type { CreateOutcome, StateItem } from './types.ts';

/** exactlyOnce: how long a lease lasts unless the caller says otherwise. @default 10_000 ms */
export const DEFAULT_LEASE_MS = 10_000;
/** exactlyOnce: a waiter gives up after this many lease lengths without a value or a free lease. @default 3 */
export const WAIT_LEASES = 3;
/** exactlyOnce: a waiter's pauses between reads, doubling with jitter. @default 20 ms to 500 ms */
export const LEASE_POLL = { minMs: 20, maxMs: 500 } as const;

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
export async function createExactlyOnce(
  table: StateTable,
  key: TableKey,
  objectId: number,
  name: string,
  create: () => unknown,
  leaseMs: number,
): Promise<CreateOutcome> {
  const owner = randomUUID();
  const startedAt = Date.now();
  const giveUpAt = startedAt + WAIT_LEASES * leaseMs;
  const backoff = new Backoff(LEASE_POLL);
  for (;;) {
    let seen = await readState(table, key);
    if (seen?.value !== undefined) return { value: decodeValue(seen.value, objectId, name), created: false };

    if (seen === undefined || (seen.leaseExpiresAt ?? 0) <= Date.now()) {
      await table.timingHook('atomicCreateState');
      const now = Date.now();
      const lease: StateItem = { ...key, name, leaseOwner: owner, leaseExpiresAt: now + leaseMs };
      // Race: A and B both see no item (or the same expired lease).
      //   A: put lease (free, or expired and still no value)   ──────▶ A holds it and runs create()
      //   B: put lease (condition fails, ALL_OLD = A's lease)    ──────▶ B waits for A's value
      // The first put wins. An expired lease is judged by this caller's clock against the holder's
      // stamp: clocks skewed by more than a fraction of leaseMs shorten or stretch the takeover.
      const taken = await putState(
        table,
        lease,
        {
          noValue: 'attribute_not_exists(#value)',
          leaseFreeOrExpired: 'attribute_not_exists(pk) OR #leaseExpiresAt < :now',
        },
        { names: { '#value': 'value', '#leaseExpiresAt': 'leaseExpiresAt' }, values: { ':now': now } },
      );
      if (taken.won) return createUnderLease(table, key, objectId, name, create, owner);
      if (taken.old?.value !== undefined)
        return { value: decodeValue(taken.old.value, objectId, name), created: false };
      seen = taken.old ?? { ...key, name };
    }

    if (Date.now() >= giveUpAt)
      throw new LeaseWaitTimeoutError(
        `no value for state '${name}' of object ${objectId} after ${Date.now() - startedAt} ms ` +
          `(${WAIT_LEASES} × leaseMs ${leaseMs}); a create() is still holding the lease`,
        { details: { objectId, name, leaseExpiresAt: seen.leaseExpiresAt } },
      );
    const untilExpiry = (seen.leaseExpiresAt ?? 0) - Date.now() + 1;
    await sleep(Math.max(1, Math.min(backoff.next() * (0.5 + Math.random() / 2), untilExpiry)));
  }
}

async function createUnderLease(
  table: StateTable,
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
    await releaseLease(table, key, owner);
    throw error;
  }
  // Fencing. Race: A's lease expired while create() ran and B took it over.
  //   B: put value if leaseOwner = B                 ──────▶ B's value is stored
  //   A: put value if leaseOwner = A (fails: B's)      ──────▶ A gets LeaseLostError, writes nothing
  // The current lease holder wins. If nobody took over, A's put succeeds even past its expiry: no
  // other create() ran.
  const outcome = await putState(
    table,
    { ...key, name, value: text },
    { leaseStillOurs: '#leaseOwner = :owner' },
    { names: { '#leaseOwner': 'leaseOwner' }, values: { ':owner': owner } },
  );
  if (outcome.won) return { value: JSON.parse(text), created: true };
  const current = outcome.old;
  const storedValue = current?.value === undefined ? undefined : decodeValue(current.value, objectId, name);
  throw new LeaseLostError(
    `the exactlyOnce lease on state '${name}' of object ${objectId} expired while create() ran and was ` +
      `taken over; this create()'s value was not stored (raise leaseMs above create()'s longest run)`,
    {
      details: {
        objectId,
        name,
        hasStoredValue: current?.value !== undefined,
        storedValue,
        leaseOwner: current?.leaseOwner,
      },
    },
  );
}

async function releaseLease(table: StateTable, key: TableKey, owner: string): Promise<void> {
  // Only our own lease: if another caller took it over (or setState replaced it), it is theirs, and this
  // delete loses and leaves it.
  await conditionalDelete(table.client, {
    tableName: table.tableName,
    key,
    condition: { leaseStillOurs: '#leaseOwner = :owner' },
    names: { '#leaseOwner': 'leaseOwner' },
    values: { ':owner': owner },
    decode: asStateItem,
  });
}
