// Owns the state connector's types: its options and timing seam, the outcomes it returns, and its items.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the connector calls its timing hook: between its read and its conditional write. */
export type TimingHookPoint = 'getObjectId' | 'setState' | 'atomicCreateState' | 'updateState';

/**
 * Buildbot's `_test_timing_hook`: called between the read and the write, so a race test can put the
 * conflicting row into the real table at the worst moment. Production code leaves it unset.
 */
export type TimingHook = (point: TimingHookPoint) => void | Promise<void>;

export interface StateConnectorOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** A seam for race tests (see TimingHook). @default undefined (no hook) */
  testTimingHook?: TimingHook;
}

export interface AtomicCreateOptions {
  /**
   * Run create() once across the cluster, not merely store one value: the first caller takes a lease
   * and the others wait for its value (docs/state.md). @default false
   */
  exactlyOnce?: boolean;
  /**
   * exactlyOnce: how long a lease holder may run create() before another caller may take over.
   * Set it above create()'s longest run; waiters give up after 3 × leaseMs. @default 10_000
   */
  leaseMs?: number;
}

/** What atomicCreateState did: the value now stored, and whether this call stored it. */
export interface CreateOutcome {
  value: unknown;
  created: boolean;
}

/** What updateState did: the value now stored (undefined if none), and whether this call stored it. */
export interface UpdateOutcome {
  value: unknown;
  updated: boolean;
}

/** The object key item (access patterns 1 and 2). */
export interface ObjectKeyItem {
  pk: string;
  sk: string;
  objectId: number;
  name: string;
  className: string;
}

/** The object id counter item (access pattern 3). */
export interface CounterItem {
  pk: string;
  sk: string;
  next: number;
}

/**
 * A state item (access patterns 4 and 5): a stored value, or a pending exactlyOnce lease. A value
 * item has `value` and no lease fields; a pending item has the lease fields and no `value`.
 */
export interface StateItem {
  pk: string;
  sk: string;
  name: string;
  /** The value's JSON text. */
  value?: string;
  /** The lease holder's random token (the fencing token). */
  leaseOwner?: string;
  /** Epoch milliseconds after which another caller may take the lease over. */
  leaseExpiresAt?: number;
}
