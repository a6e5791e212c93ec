import { ConflictError, NotFoundError } from '../errors.ts';
import type { CommandStatus } from './types.ts';

/** No command with this id (or it expired after its retention). */
export class CommandNotFoundError extends NotFoundError {
  constructor(commandId: string) {
    super(`no command ${commandId}`, { details: { commandId } });
  }
}

/** The call does not fit the command's status (a duplicate claim, an update to a finished command). */
export class CommandStateError extends ConflictError {
  readonly status: CommandStatus;

  constructor(commandId: string, status: CommandStatus, wanted: string, extra: Record<string, unknown> = {}) {
    super(`command ${commandId} is ${status}; ${wanted}`, { details: { commandId, status, ...extra } });
    this.status = status;
  }
}

/**
 * Updates would leave a gap (or complete names a seq that is not stored yet). `acked` is the highest
 * contiguous seq stored: the worker resends from acked + 1.
 */
export class UpdateGapError extends ConflictError {
  readonly acked: number;

  constructor(commandId: string, acked: number, message: string) {
    super(`command ${commandId}: ${message}; resend from seq ${acked + 1}`, {
      details: { commandId, acked },
    });
    this.acked = acked;
  }
}

/** The idempotency key was already used for a command with another worker or command name. */
export class IdempotencyKeyReuseError extends ConflictError {
  constructor(commandId: string, existing: { worker: string; command: string }) {
    super(
      `this idempotency key already started command ${commandId} (${existing.command} on ${existing.worker}) with another request; use a new key for a different command`,
      { details: { commandId, existing } },
    );
  }
}
