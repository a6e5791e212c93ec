// Owns how a state value is stored: JSON text, checked to be JSON-able and within the size limit, and read back.
import * as LIMITS from '../limits.ts';
import { StateEncodingError, StateValueTooLargeError } from './errors.ts';

/**
 * Values are stored as JSON text: DynamoDB numbers cannot hold every JSON number, and text keeps the
 * value exactly as getState will return it.
 */

/** What JSON cannot hold faithfully, named for the error message; undefined when `value` is fine. */
function lossyKind(value: unknown, inArrayOrTop: boolean): string | undefined {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (value === undefined && inArrayOrTop) return 'undefined';
  return undefined;
}

/**
 * JSON.stringify silently drops or rewrites what JSON cannot hold (a function in an object vanishes,
 * NaN becomes null, a Map becomes {}). Buildbot's json.dumps raises instead, so we refuse them too.
 * An object property whose value is undefined is left out, as JSON does: that is how JS spells "absent".
 */
function refuseLossy(this: unknown, key: string, value: unknown): unknown {
  const inArray = Array.isArray(this);
  const kind = lossyKind(value, inArray || key === '');
  if (kind !== undefined) {
    const where = key === '' ? 'the value' : inArray ? `item [${key}]` : `property .${key}`;
    throw new StateEncodingError(`${where} is ${kind}, which JSON cannot hold`);
  }
  return value;
}

/** The JSON text of `value`, or StateEncodingError / StateValueTooLargeError before anything is written. */
export function encodeValue(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, refuseLossy);
  } catch (error) {
    if (error instanceof StateEncodingError) throw error;
    // JSON.stringify throws TypeError for cycles and BigInt.
    throw new StateEncodingError(`value is not JSON-able: ${(error as Error).message}`, { cause: error });
  }
  if (text === undefined) throw new StateEncodingError('value is not JSON-able');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > LIMITS.stateValueBytes)
    throw new StateValueTooLargeError(
      `value is ${bytes} bytes of JSON; the limit is ${LIMITS.stateValueBytes} bytes`,
      {
        details: { bytes, limit: LIMITS.stateValueBytes },
      },
    );
  return text;
}

/** The value stored as `text`, or StateEncodingError when it is not JSON (Buildbot's TypeError). */
export function decodeValue(text: unknown, objectId: number, name: string): unknown {
  try {
    if (typeof text !== 'string') throw new TypeError(`stored value is ${typeof text}, not JSON text`);
    return JSON.parse(text);
  } catch (error) {
    throw new StateEncodingError(`JSON error loading state value '${name}' for object ${objectId}`, {
      cause: error,
      details: { objectId, name },
    });
  }
}
