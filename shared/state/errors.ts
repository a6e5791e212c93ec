import {
  BuildbotError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../errors.ts';

/** Buildbot's KeyError: no value is stored under (objectId, name) and no default was given. */
export class StateNotFoundError extends NotFoundError {
  readonly objectId: number;
  readonly stateName: string;

  constructor(objectId: number, name: string) {
    super(`no such state value '${name}' for object ${objectId}`, { details: { objectId, name } });
    this.objectId = objectId;
    this.stateName = name;
  }
}

/**
 * Buildbot's TypeError: a value that JSON cannot hold faithfully (a function, symbol, BigInt, cycle,
 * undefined, a non-finite number, a Map or Set), or stored text that is not JSON. Nothing was written.
 */
export class StateEncodingError extends ValidationError {}

/** A value whose JSON text is over the documented limit (DynamoDB items hold 400 KB). Nothing was written. */
export class StateValueTooLargeError extends PayloadTooLargeError {}

/** A className over its key limit (names over theirs are shortened instead; see keys.ts). */
export class StateNameTooLongError extends ValidationError {}

/**
 * exactlyOnce: this caller's lease expired while create() ran and another caller took it over, so
 * its value was not stored (the fencing check refused it). `storedValue` holds the value that won,
 * when there is one yet. create() has run more than once: raise `leaseMs` above its longest run.
 */
export class LeaseLostError extends ConflictError {}

/** exactlyOnce: the value did not appear, and no lease came free, within the waiting bound (3 × leaseMs). */
export class LeaseWaitTimeoutError extends BuildbotError {
  override readonly statusCode = 503;
}
