// The errors of the command lifecycle and its reads, each with its stable code and body fields (docs/errors.md).
import { ItemDecodeError } from '../aws/errors.ts';
import { BuildbotError, ConflictError, NotFoundError } from '../errors.ts';
import type { CommandStatus } from './types.ts';

/** No command with this id (or it expired after its retention). */
export class CommandNotFoundError extends NotFoundError {
  static override readonly code = 'command_not_found';
  static override readonly bodyFields = ['commandId'];

  readonly commandId: string;

  constructor(commandId: string) {
    super(`no command ${commandId}`, { details: { commandId } });
    this.commandId = commandId;
  }
}

/**
 * The call does not fit the command's status (a duplicate claim, an update to a finished command).
 * `acked`, when given, is the highest contiguous seq stored: the worker stops resending below it.
 */
export class CommandStateError extends ConflictError {
  static override readonly code = 'command_status_conflict';
  static override readonly bodyFields = ['commandId', 'status', 'acked'];

  readonly commandId: string;
  readonly status: CommandStatus;

  constructor(commandId: string, status: CommandStatus, wanted: string, extra: { acked?: number } = {}) {
    super(`command ${commandId} is ${status}; ${wanted}`, { details: { commandId, status, ...extra } });
    this.commandId = commandId;
    this.status = status;
  }
}

/**
 * Updates would leave a gap (or complete names a seq that is not stored yet). `acked` is the highest
 * contiguous seq stored: the worker resends from acked + 1.
 */
export class UpdateGapError extends ConflictError {
  static override readonly code = 'update_gap';
  static override readonly bodyFields = ['commandId', 'acked'];

  readonly commandId: string;
  readonly acked: number;

  constructor(commandId: string, acked: number, message: string) {
    super(`command ${commandId}: ${message}; resend from seq ${acked + 1}`, {
      details: { commandId, acked },
    });
    this.commandId = commandId;
    this.acked = acked;
  }
}

/**
 * The calling token already used this idempotency key for a command with another worker, command name,
 * args, decodeRC or timeouts. The body names only the caller's own command id: never the stored
 * request (its args are nobody else's business, and keys are scoped to the token that made them).
 */
export class IdempotencyKeyReuseError extends ConflictError {
  static override readonly code = 'idempotency_key_reused';
  static override readonly bodyFields = ['commandId'];

  readonly commandId: string;
  /** The stored command's worker and command name (in-process evidence only). */
  readonly existing: { worker: string; command: string };

  constructor(commandId: string, existing: { worker: string; command: string }) {
    super(
      `this idempotency key already started command ${commandId} with another request; use a new key for a different command`,
      { details: { commandId, existing: { worker: existing.worker, command: existing.command } } },
    );
    this.commandId = commandId;
    this.existing = { worker: existing.worker, command: existing.command };
  }
}

/** GET .../logs/{name} names a log the command does not have; `logs` (in-process) lists those it has. */
export class LogNotFoundError extends NotFoundError {
  static override readonly code = 'log_not_found';
  static override readonly bodyFields = ['commandId', 'log'];

  readonly commandId: string;
  readonly logs: string[];

  constructor(commandId: string, name: string, known: string[]) {
    super(`command ${commandId} has no log ${name}; its logs: ${known.join(', ')}`, {
      details: { commandId, log: name, logs: known },
    });
    this.commandId = commandId;
    this.logs = known;
  }
}

/**
 * `parts` that this code did not write. Stored, it is a bug or a damaged item and answers 500
 * (internal_error, logged): the part is stored data and never reaches a body. In a text batch on the
 * wire, the decoder turns it into a ValidationError.
 */
export class MalformedPartsError extends BuildbotError {
  static override readonly code = 'stored_parts_malformed';
  static override readonly httpStatus = 500;

  constructor(entry: string) {
    super(`malformed part "${entry}"`, { details: { part: entry } });
  }
}

/**
 * The command's stored record cannot be changed: it is malformed (an attribute missing or of another type),
 * or DynamoDB refuses any write to it (a record grown near the 400 KB item limit before the edge bounded
 * what it holds). Nothing was changed. The watchdog and the dead-letter consumer log and skip such a record.
 */
export class CommandRecordUnusableError extends ConflictError {
  static override readonly code = 'command_record_unusable';
  static override readonly bodyFields = ['commandId'];

  readonly commandId: string;

  constructor(commandId: string, options: { cause: unknown }) {
    super(
      `command ${commandId}: its stored record is damaged or too large to change; nothing was changed (see docs/security.md)`,
      { details: { commandId }, cause: options.cause },
    );
    this.commandId = commandId;
  }
}

/**
 * Whether `error` says the record itself is at fault, so that no retry can help: it did not decode, or
 * DynamoDB refused a write for the item's size. Anything else (a throttle, an outage) may pass on a retry.
 */
export function isRecordFault(error: unknown): boolean {
  if (error instanceof ItemDecodeError) return true;
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return name === 'ValidationException' && /item size|maximum allowed size/i.test(String(message));
}

/**
 * The next page of a log or of updates holds one update too large for an uncompressed Lambda answer (over
 * LIMITS.lambdaResponseBytes even as base64), and the caller accepts no compression: a page never splits an
 * update, so asking again would fail again. Sent with Accept-Encoding br or gzip (the TypeScript client always
 * sends it), the same page fits.
 */
export class PageNeedsCompressionError extends BuildbotError {
  static override readonly code = 'page_needs_compression';
  static override readonly httpStatus = 406;
  static override readonly bodyFields = ['commandId', 'seq', 'limit'];

  constructor(commandId: string, seq: number, bytes: number, limit: number) {
    super(
      `command ${commandId}: update seq ${seq} alone takes ${bytes} bytes uncompressed, over the ${limit} a ` +
        'Lambda answer holds; ask again with Accept-Encoding: br or gzip',
      { details: { commandId, seq, limit } },
    );
  }
}
