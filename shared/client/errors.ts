// The TypeScript client's errors: in-process only, each with a stable code (docs/errors.md).
import { BuildbotError } from '../errors.ts';
import type { CommandFailure } from '../commands/types.ts';

/**
 * RemoteCommand.run() rejects with this when the command ended with a failure (worker_lost,
 * start_timeout, start_error, ...) and remoteComplete() returned it to propagate it, as the seed's
 * remoteComplete raises. `failure` is the recorded failure; `commandId` names the command to inspect.
 */
export class RemoteCommandFailedError extends BuildbotError {
  static override readonly code = 'remote_command_failed';
  static override readonly httpStatus = undefined;

  readonly commandId: string;
  readonly failure: CommandFailure;

  constructor(commandId: string, failure: CommandFailure) {
    super(`command ${commandId} failed (${failure.kind}): ${failure.message}`, {
      details: { commandId, failure },
    });
    this.commandId = commandId;
    this.failure = failure;
  }
}

/** A RemoteCommand was used out of order: run() while it is already active, or a read before start. */
export class RemoteCommandStateError extends BuildbotError {
  static override readonly code = 'remote_command_misused';
  static override readonly httpStatus = undefined;
}

/**
 * The API answered with a status that is not 2xx. `body` holds its JSON answer: `code`, `message` and
 * the fields docs/errors.md lists for that code. `apiCode` is that code, or undefined for an answer that
 * did not come from the functions (API Gateway's own `{message}`, a proxy's page).
 */
export class ApiError extends BuildbotError {
  static override readonly code = 'api_refused';
  static override readonly httpStatus = undefined;

  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly apiCode: string | undefined;

  constructor(method: string, path: string, status: number, body: Record<string, unknown>) {
    const message = typeof body.message === 'string' ? body.message : JSON.stringify(body);
    super(`${method} ${path} answered ${status}: ${message}`);
    this.status = status;
    this.body = body;
    this.apiCode = typeof body.code === 'string' ? body.code : undefined;
  }
}

/** No answer at all: the API could not be reached, or the connection broke before it answered. */
export class ApiUnreachableError extends BuildbotError {
  static override readonly code = 'api_unreachable';
  static override readonly httpStatus = undefined;

  /** The origin asked (scheme, host and port), so a caller can tell which API did not answer. */
  readonly origin: string;

  constructor(method: string, url: URL, cause: Error) {
    super(`${method} ${url.origin}${url.pathname}: no answer (${cause.message})`, { cause });
    this.origin = url.origin;
  }
}

/**
 * The push socket cannot serve a follower: it did not open or confirm a subscription in time, closed while
 * opening, or failed moments ago. The client's followers catch it and poll instead; it reaches no caller.
 */
export class PushUnavailableError extends BuildbotError {
  static override readonly code = 'push_unavailable';
  static override readonly httpStatus = undefined;
}
