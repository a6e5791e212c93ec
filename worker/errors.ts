// The worker agent's errors: in-process only (they never answer HTTP), each with a stable code (docs/errors.md).
import { BuildbotError } from '../shared/errors.ts';

/**
 * The command could not start: an unknown name, missing or bad args, a path outside the base
 * directory, a missing executable. The worker completes the command with `start_error` and this
 * message, worded as Buildbot's worker words it.
 */
export class CommandStartError extends BuildbotError {
  static override readonly code: string = 'command_start_failed';
  static override readonly httpStatus: number | undefined = undefined;
}

/** A path argument resolves outside the worker's base directory. `path` is what the caller sent. */
export class PathEscapeError extends CommandStartError {
  static override readonly code = 'path_outside_basedir';

  readonly path: string;

  /** `real` is where a symlink led, when the lexical path was inside. */
  constructor(argName: string, path: string, basedir: string, real?: string) {
    super(
      real === undefined
        ? `${argName} '${path}' is outside the worker's base directory ${basedir}; refusing to touch it`
        : `${argName} '${path}' leads through a symlink to ${real}, outside the worker's base directory ${basedir}; refusing to touch it`,
      { details: { arg: argName, path } },
    );
    this.path = path;
  }
}

/**
 * The command ran but its result cannot be sent: the worker completes it with `finish_error` and this message
 * (a failure with a reason, which a Buildbot master does not retry), never `worker_lost`.
 */
export class CommandFinishError extends BuildbotError {
  static override readonly code: string = 'command_finish_failed';
  static override readonly httpStatus: number | undefined = undefined;
}

/**
 * The process that ran the command died under it (the buildbot-worker engine's stock worker crashed or its
 * connection dropped). The agent stops heartbeating the command without completing it, so the watchdog ends it
 * as `worker_lost` (RETRY), as when the agent itself dies.
 */
export class CommandLostError extends BuildbotError {
  static override readonly code = 'command_lost';
  static override readonly httpStatus = undefined;
}

/** The API kept refusing an update batch or a completion in a way resending cannot fix. */
export class UpdateDeliveryError extends BuildbotError {
  static override readonly code = 'update_delivery_failed';
  static override readonly httpStatus = undefined;

  readonly commandId: string;

  constructor(commandId: string, message: string, options?: ErrorOptions) {
    super(`command ${commandId}: ${message}`, { ...options, details: { commandId } });
    this.commandId = commandId;
  }
}

/** Bad command-line usage of the worker CLI. */
export class WorkerUsageError extends BuildbotError {
  static override readonly code = 'worker_usage';
  static override readonly httpStatus = undefined;
}
