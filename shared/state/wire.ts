// The state API's wire (DESIGN.md section 3, HTTP face): request bodies, path parameters and answers, one schema each.
import * as v from 'valibot';
import { ForbiddenError, ValidationError } from '../errors.ts';
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
