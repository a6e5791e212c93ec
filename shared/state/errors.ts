// The state connector's errors (Buildbot's KeyError and TypeError among them), with their codes and body fields.
import {
  BuildbotError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../errors.ts';

/** Buildbot's KeyError: no value is stored under (objectId, name) and no default was given. */
export class StateNotFoundError extends NotFoundError {
  static override readonly code = 'state_not_found';
  static override readonly bodyFields = ['objectId', 'name'];

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
export class StateEncodingError extends ValidationError {
  static override readonly code = 'state_not_json';
  static override readonly bodyFields = [];
}

/** A value whose JSON text is over the documented limit (DynamoDB items hold 400 KB). Nothing was written. */
export class StateValueTooLargeError extends PayloadTooLargeError {
  static override readonly code = 'state_value_too_large';
  static override readonly bodyFields = ['bytes', 'limit'];
}

/** A className over its key limit (names over theirs are shortened instead; see keys.ts). */
export class StateNameTooLongError extends ValidationError {
  static override readonly code = 'state_name_too_long';
  static override readonly bodyFields = ['field', 'bytes', 'limit'];
}

/**
 * exactlyOnce: this caller's lease expired while create() ran and another caller took it over, so
 * its value was not stored (the fencing check refused it). `details.storedValue` holds the value that
 * won, when there is one yet (in-process only: another caller's value never reaches a body). create()
 * has run more than once: raise `leaseMs` above its longest run.
 */
export class LeaseLostError extends ConflictError {
  static override readonly code = 'state_lease_lost';
  static override readonly bodyFields = ['objectId', 'name'];
}

/** exactlyOnce: the value did not appear, and no lease came free, within the waiting bound (3 × leaseMs). */
export class LeaseWaitTimeoutError extends BuildbotError {
  static override readonly code = 'state_lease_wait_timeout';
  static override readonly httpStatus = 503;
  static override readonly bodyFields = ['objectId', 'name'];
}
