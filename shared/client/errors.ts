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
