// The state API's wire (docs/state.md, HTTP face): request bodies, path parameters and answers, one schema each.
import * as v from 'valibot';
import { ForbiddenError, ValidationError } from '../errors.ts';
import { encodeValue } from './codec.ts';
import { StateValueTooLargeError } from './errors.ts';
import { fields, integer, parse, text } from '../schema.ts';
import type { Infer } from '../schema.ts';
import * as LIMITS from '../limits.ts';

/** Any JSON value, null included, but present: `{}` has no value to store. Its size is checked by the connector. */
const stateValue = v.unknown();

export const objectIdRequest = fields({
  name: text({ minLength: 1, maxLength: LIMITS.stateNameLength }),
  className: text({ minLength: 1, maxLength: LIMITS.stateNameLength }),
});
export type ObjectIdRequest = Infer<typeof objectIdRequest>;

export const objectIdResponse = v.object({ objectId: integer(1) });
export type ObjectIdResponse = Infer<typeof objectIdResponse>;

export const setStateRequest = fields({ value: stateValue });
export type SetStateRequest = Infer<typeof setStateRequest>;

export const createStateRequest = fields({ value: stateValue });
export type CreateStateRequest = Infer<typeof createStateRequest>;

/** GET and PUT answer the value; PUT's is the value actually stored (a racing creator's, if it won). */
export const stateValueResponse = v.object({ value: stateValue });
export type StateValueResponse = Infer<typeof stateValueResponse>;

/** POST .../create: the stored value and whether this request stored it (201) or found it (200). */
export const createStateResponse = v.object({ value: stateValue, created: v.boolean() });
export type CreateStateResponse = Infer<typeof createStateResponse>;

/**
 * `?default=<JSON>` of GET .../state/{name}: Buildbot's `getState(objectid, name, default)` over HTTP.
 * The text is JSON (so `"x"` for a string, `null` for null); for the OpenAPI document it is a string.
 */
export const stateDefaultQuery = v.object({
  default: v.optional(v.string()),
});

/** A parsed `?default=`: `given` tells "no default" (404 when missing) from a default of `null`. */
export type StateDefault = { given: false } | { given: true; value: unknown };

/**
 * Reads only `default`, as the other reads ignore unknown query parameters. Bad JSON is a 400 naming
 * `default`; a default over the state value limit (its text, or its JSON once parsed) is a 413, as PUT's value is.
 */
export function parseStateDefault(query: Record<string, string | undefined>): StateDefault {
  const raw = query.default;
  if (raw === undefined) return { given: false };
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (bytes > LIMITS.stateValueBytes)
    throw new StateValueTooLargeError(
      `default is ${bytes} bytes of JSON text; the limit is ${LIMITS.stateValueBytes} bytes`,
      { details: { bytes, limit: LIMITS.stateValueBytes } },
    );
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new ValidationError(`default: expected JSON text (${(error as Error).message})`, {
      cause: error,
      details: { path: 'default' },
    });
  }
  encodeValue(value); // the same checks a stored value passes
  return { given: true, value };
}

/** The `{objectId}` path parameter: a positive integer, as digits. */
export const objectIdParam = text({ minLength: 1, maxLength: 16, pattern: /^[1-9][0-9]{0,15}$/ });

export function parseObjectIdParam(raw: string | undefined): number {
  const objectId = raw !== undefined && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(objectId))
    throw new ValidationError(`objectId: expected a positive integer, got ${JSON.stringify(raw ?? null)}`, {
      details: { path: 'objectId' },
    });
  return objectId;
}

/** The `{name}` path parameter of a state value. */
export const stateNameParam = text({ minLength: 1, maxLength: LIMITS.stateNameLength });

/**
 * State names that only the service writes (a worker's last result, shared/commands/lastResult.ts): the
 * HTTP API serves them to GET and refuses PUT and create, so no client can forge or pin what the service
 * keeps there. In-process callers (the consumers) write them through the connector.
 */
export const SERVICE_STATE_PREFIX = 'bbs:';

/** The `{name}` of a PUT or create: a state name the caller may write (never SERVICE_STATE_PREFIX's). */
export function parseWritableStateName(raw: string | undefined): string {
  const name = parse(stateNameParam, raw, 'name');
  if (name.startsWith(SERVICE_STATE_PREFIX))
    throw new ForbiddenError(
      `state names starting with ${SERVICE_STATE_PREFIX} are written by the service only; read them with GET`,
    );
  return name;
}
