// The root of every error this library raises on purpose, the HTTP-status classes, and the one error body.

/**
 * What an HTTP error answer carries (docs/errors.md): the class's stable `code`, the message, and only
 * the fields the class lists in `bodyFields`. `error` repeats `code` for readers of the older body.
 */
export interface ErrorBody {
  code: string;
  /** The same value as `code` (the body once sent the class name here; see docs/errors.md). */
  error: string;
  message: string;
  [field: string]: unknown;
}

/** The keys every error body has; no class may list them in `bodyFields`. */
export const ERROR_BODY_KEYS = ['code', 'error', 'message'] as const;

export interface BuildbotErrorOptions extends ErrorOptions {
  /**
   * Evidence for in-process callers (the worker's seq, the stored value that won a race, ...). Only the
   * keys the class lists in `bodyFields` ever reach an HTTP body; the rest stay in this process.
   */
  details?: Record<string, unknown>;
}

/**
 * The root of every error this library raises on purpose. Each subclass declares, as statics:
 * - `code`: a stable snake_case code, documented in docs/errors.md and never derived from the class name,
 *   so a class can be renamed without changing the API;
 * - `httpStatus`: the status the edge answers with, or undefined for an error that never leaves the
 *   process (a client, worker or local-stack error);
 * - `bodyFields`: the keys of `details` an HTTP body may carry. List only the caller's own input or
 *   facts about what it addressed (a path, a limit, its commandId): never a stored item, a table key
 *   (pk/sk) or another caller's data.
 * One mapper (functions/lib/http.ts) turns them into HTTP answers with `httpBody()`. A 500, or anything that
 * is not a BuildbotError, is a bug or an AWS fault: it is logged and answers `internal_error` alone.
 */
export class BuildbotError extends Error {
  static readonly code: string = 'internal_error';
  static readonly httpStatus: number | undefined = 500;
  static readonly bodyFields: readonly string[] = [];

  /** In-process evidence (see BuildbotErrorOptions.details); not an HTTP body. */
  readonly details: Record<string, unknown> = {};

  constructor(message: string, options?: BuildbotErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    if (options?.details) this.details = options.details;
  }

  private get errorClass(): typeof BuildbotError {
    return this.constructor as typeof BuildbotError;
  }

  /** The stable code of this error's class (docs/errors.md). */
  get code(): string {
    return this.errorClass.code;
  }

  /** HTTP status the edge answers with; 500 for an error that should never have reached it. */
  get statusCode(): number {
    return this.errorClass.httpStatus ?? 500;
  }

  /** True when the edge answers with this error's own code and fields (else: internal_error, logged). */
  get answersCaller(): boolean {
    const status = this.errorClass.httpStatus;
    return status !== undefined && status !== 500;
  }

  /** The HTTP body: code, message and the declared fields that are set; nothing else from `details`. */
  httpBody(): ErrorBody {
    const { code, bodyFields } = this.errorClass;
    const body: ErrorBody = { code, error: code, message: this.message };
    for (const field of bodyFields)
      if (this.details[field] !== undefined && !isBodyKey(field)) body[field] = this.details[field];
    return body;
  }
}

function isBodyKey(field: string): boolean {
  return (ERROR_BODY_KEYS as readonly string[]).includes(field);
}

/** The class of a BuildbotError, as the docs test and the mapper read its statics. */
export type BuildbotErrorClass = typeof BuildbotError;

/** The environment lacks a variable this process needs (serverless.yml or startLocalStack() sets it). */
export class ConfigurationError extends BuildbotError {
  static override readonly code = 'configuration_missing';
  static override readonly httpStatus = 500;

  readonly variable: string;

  constructor(variable: string) {
    super(
      `environment variable ${variable} is not set (serverless.yml sets it on AWS; startLocalStack() sets it locally)`,
      { details: { variable } },
    );
    this.variable = variable;
  }
}

/**
 * Bad input: malformed JSON, wrong types, missing or unknown fields. Nothing was stored. `path` names
 * the field the caller sent (`args.command`, `updates[3][1]`); `limit` is the bound it broke, when it
 * broke one (a length, a count, a range).
 */
export class ValidationError extends BuildbotError {
  static override readonly code: string = 'invalid_request';
  static override readonly httpStatus: number | undefined = 400;
  static override readonly bodyFields: readonly string[] = ['path', 'limit'];
}

/** A body or value over a documented size limit. Nothing was stored. `seq`: the worker's update that did not fit. */
export class PayloadTooLargeError extends BuildbotError {
  static override readonly code: string = 'payload_too_large';
  static override readonly httpStatus: number | undefined = 413;
  static override readonly bodyFields: readonly string[] = ['limit', 'seq'];
}

/** No token, or a token that does not resolve. */
export class UnauthorizedError extends BuildbotError {
  static override readonly code: string = 'unauthorized';
  static override readonly httpStatus: number | undefined = 401;
}

/** A valid token whose role (or worker binding) does not allow the call. */
export class ForbiddenError extends BuildbotError {
  static override readonly code: string = 'forbidden';
  static override readonly httpStatus: number | undefined = 403;
}

/** The named thing does not exist. */
export class NotFoundError extends BuildbotError {
  static override readonly code: string = 'not_found';
  static override readonly httpStatus: number | undefined = 404;
}

/** The request does not fit the current state (a lost race, a duplicate, a gap); subclasses say what is. */
export class ConflictError extends BuildbotError {
  static override readonly code: string = 'conflict';
  static override readonly httpStatus: number | undefined = 409;
}
