// The AWS helpers' errors: a lost write without an explanation, a malformed stored item, a service that cannot answer now.
import { BuildbotError } from '../errors.ts';

/**
 * A lost write the caller cannot continue from: the condition's parts it names did not all hold, and the
 * item DynamoDB returned (if any) did not explain why. A bug or a damaged item, answered as a 500.
 */
export class ConditionFailedError extends BuildbotError {
  static override readonly code = 'write_condition_failed';
  static override readonly httpStatus = 500;

  readonly parts: readonly string[];

  /** `lost`: the outcome of the lost write (conditionalWrite.ts LostWrite). */
  constructor(what: string, lost: { parts: readonly string[]; old: unknown }) {
    super(
      `${what}: the condition ${lost.parts.join(' AND ')} did not hold` +
        (lost.old === undefined ? ' and no item was there' : ''),
      { details: { condition: lost.parts } },
    );
    this.parts = lost.parts;
  }
}

/** A stored item without an attribute its code needs, or with one of another type. Nothing was decided on it. */
export class ItemDecodeError extends BuildbotError {
  static override readonly code = 'stored_item_malformed';
  static override readonly httpStatus = 500;

  readonly itemName: string;
  readonly attribute: string;

  constructor(itemName: string, attribute: string, expected: string, found: string) {
    super(`${itemName}: attribute ${attribute} is ${found}, expected ${expected}`, {
      details: { item: itemName, attribute },
    });
    this.itemName = itemName;
    this.attribute = attribute;
  }
}

/** What Retry-After says with a 503: about as long as DynamoDB Local or fauxqs takes to come back. @default 3 */
export const RETRY_AFTER_SECONDS = 3;

/**
 * DynamoDB or SQS could not serve the call even after the SDK's own retries: the endpoint refused or dropped the
 * connection, timed out, throttled (ProvisionedThroughputExceeded, ThrottlingException, ...) or failed on its side
 * (a 5xx). Nothing is wrong with the request: the edge answers 503 with `Retry-After`, never a 500, and a caller
 * repeats a call that is safe to repeat (a worker's updates and complete, a start with an idempotency key).
 */
export class ServiceUnavailableError extends BuildbotError {
  static override readonly code = 'service_unavailable';
  static override readonly httpStatus = 503;
  static override readonly bodyFields: readonly string[] = ['retryAfterSeconds'];

  readonly retryAfterSeconds: number;

  constructor(message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    const retryAfterSeconds = options.retryAfterSeconds ?? RETRY_AFTER_SECONDS;
    super(message, { cause: options.cause, details: { retryAfterSeconds } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Socket errors that mean "nobody answered there right now" (Node's codes, as the SDK's handler rethrows them). */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** The SDK's names for an answer that says "slow down" or "not now" (its own retry strategy treats them as transient). */
const UNAVAILABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalServerError',
  'InternalFailure',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  errors?: unknown;
  cause?: unknown;
}

function isUnavailable(error: SdkErrorShape): boolean {
  if (typeof error.code === 'string' && UNREACHABLE_CODES.has(error.code)) return true;
  if (typeof error.name === 'string' && UNAVAILABLE_NAMES.has(error.name)) return true;
  // Any other server-side fault of the AWS service (a 5xx whose name is not listed above).
  const status = error.$metadata?.httpStatusCode;
  return error.$fault === 'server' && typeof status === 'number' && status >= 500;
}

/**
 * The ServiceUnavailableError for an error that came from an unreachable, throttling or failing AWS endpoint,
 * looked for in the error, its `cause` chain and an AggregateError's `errors` (Node reports a refused connection
 * to a name with several addresses as one); undefined for anything else (a bug, a lost condition, bad data).
 */
export function serviceUnavailableOf(error: unknown): ServiceUnavailableError | undefined {
  const found = inChain(error, (each) => each instanceof ServiceUnavailableError || isUnavailable(each));
  if (found === undefined || found instanceof ServiceUnavailableError) return found;
  const what = typeof found.code === 'string' ? found.code : String(found.name);
  return new ServiceUnavailableError(
    `a backing service (DynamoDB or SQS) is unavailable or throttling (${what}); retry after ${RETRY_AFTER_SECONDS} s`,
    { cause: found },
  );
}

/** Whether nobody answered at the error's endpoint (a refused, reset or timed-out connection), anywhere in its chain. */
export function isUnreachable(error: unknown): boolean {
  return (
    inChain(error, (each) => typeof each.code === 'string' && UNREACHABLE_CODES.has(each.code)) !== undefined
  );
}

/** The first of the error, its `cause` chain and an AggregateError's `errors` that `test` holds for. */
function inChain(error: unknown, test: (each: SdkErrorShape) => boolean): SdkErrorShape | undefined {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const each = pending.shift();
    if (typeof each !== 'object' || each === null || seen.has(each)) continue;
    seen.add(each);
    const shape = each as SdkErrorShape;
    if (test(shape)) return shape;
    if (Array.isArray(shape.errors)) pending.push(...(shape.errors as unknown[]));
    pending.push(shape.cause);
  }
  return undefined;
}
