/**
 * The wire of the state API (DESIGN.md section 3, HTTP face): request bodies, path parameters and
 * answers, defined once for functions/state.ts and its callers.
 */
import { ValidationError } from '../errors.ts';
import { object, string } from '../validation.ts';
import type { Infer, Schema } from '../validation.ts';

/** Any JSON value, but present: `{}` has no value to store. Its size is checked by the connector. */
export const stateValue: Schema<unknown> = {
  description: 'any JSON value',
  parse(value, path = '') {
    if (value === undefined)
      throw new ValidationError(`${path}: required (any JSON value, null included)`, { details: { path } });
    return value;
  },
};

/** Longest name or className accepted at the edge, in characters; the connector's byte limits apply too. */
export const MAX_NAME_CHARS = 4096;

export const objectIdRequest = object({
  name: string({ minLength: 1, maxLength: MAX_NAME_CHARS }),
  className: string({ minLength: 1, maxLength: MAX_NAME_CHARS }),
});
export type ObjectIdRequest = Infer<typeof objectIdRequest>;

export interface ObjectIdResponse {
  objectId: number;
}

export const setStateRequest = object({ value: stateValue });
export type SetStateRequest = Infer<typeof setStateRequest>;

export const createStateRequest = object({ value: stateValue });
export type CreateStateRequest = Infer<typeof createStateRequest>;

/** GET and PUT answer the value; PUT's is the value actually stored (a racing creator's, if it won). */
export interface StateValueResponse {
  value: unknown;
}

/** POST .../create: the stored value and whether this request stored it (201) or found it (200). */
export interface CreateStateResponse {
  value: unknown;
  created: boolean;
}

const objectIdPattern = /^[1-9][0-9]{0,15}$/;

/** The `{objectId}` path parameter: a positive integer. */
export function parseObjectIdParam(raw: string | undefined): number {
  const objectId = raw !== undefined && objectIdPattern.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(objectId))
    throw new ValidationError(`objectId: expected a positive integer, got ${JSON.stringify(raw ?? null)}`, {
      details: { path: 'objectId' },
    });
  return objectId;
}

/** The `{name}` path parameter of a state value. */
export const stateNameParam = string({ minLength: 1, maxLength: MAX_NAME_CHARS });
