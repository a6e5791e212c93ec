/**
 * The root of every error this library raises on purpose. One mapper (functions/lib/http.ts) turns
 * `statusCode` into an HTTP status; anything that is not a BuildbotError is a bug and answers 500.
 */
export class BuildbotError extends Error {
  /** HTTP status the edge answers with. */
  readonly statusCode: number = 500;
  /** Extra fields the edge puts into the JSON body next to `error` and `message` (evidence for the caller). */
  readonly details: Record<string, unknown> = {};

  constructor(message: string, options?: ErrorOptions & { details?: Record<string, unknown> }) {
    super(message, options);
    this.name = new.target.name;
    if (options?.details) this.details = options.details;
  }
}

/** Bad input: malformed JSON, wrong types, missing or unknown fields. Nothing was stored. */
export class ValidationError extends BuildbotError {
  override readonly statusCode = 400;
}

/** A body or value over a documented size limit. Nothing was stored. */
export class PayloadTooLargeError extends BuildbotError {
  override readonly statusCode = 413;
}

/** No token, or a token that does not resolve. */
export class UnauthorizedError extends BuildbotError {
  override readonly statusCode = 401;
}

/** A valid token whose role (or worker binding) does not allow the call. */
export class ForbiddenError extends BuildbotError {
  override readonly statusCode = 403;
}

/** The named thing does not exist. */
export class NotFoundError extends BuildbotError {
  override readonly statusCode = 404;
}

/** The request does not fit the current state (a lost race, a duplicate, a gap). `details` say what is. */
export class ConflictError extends BuildbotError {
  override readonly statusCode = 409;
}
