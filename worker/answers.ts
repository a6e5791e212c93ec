// How the worker reads a failed API answer: worth another try, or a 409 that says where to resume.
import { ApiError, ApiUnreachableError } from '../shared/client/errors.ts';

/** The `acked` a 409 carries (the highest seq the server holds), if it carries one. */
export function ackedOf(error: ApiError): number | undefined {
  const acked = error.body.acked;
  return typeof acked === 'number' && Number.isInteger(acked) ? acked : undefined;
}

/** A failure worth retrying: no answer at all, or the server or gateway failed. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429;
  return error instanceof ApiUnreachableError;
}
