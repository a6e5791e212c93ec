// The worker registry's errors, with their codes and body fields (docs/errors.md).
import { ConflictError, NotFoundError } from '../errors.ts';

/** No worker registered under this name (or it was removed). */
export class WorkerNotFoundError extends NotFoundError {
  static override readonly code = 'worker_not_found';
  static override readonly bodyFields = ['worker'];

  readonly worker: string;

  constructor(name: string) {
    super(`no worker named ${name}; an admin registers it with POST /v1/workers`, {
      details: { worker: name },
    });
    this.worker = name;
  }
}

/** Registering a name that is taken, without asking to rotate its token. */
export class WorkerExistsError extends ConflictError {
  static override readonly code = 'worker_exists';
  static override readonly bodyFields = ['worker'];

  readonly worker: string;

  constructor(name: string) {
    super(`worker ${name} is already registered; send {"rotate": true} to replace its token`, {
      details: { worker: name },
    });
    this.worker = name;
  }
}

/**
 * Registering a name whose worker (and queue) was removed less than a minute ago: SQS refuses to create a queue
 * of a deleted queue's name for 60 s (QueueDeletedRecently). Nothing was stored; the same call succeeds later.
 */
export class QueueDeletedRecentlyError extends ConflictError {
  static override readonly code = 'queue_deleted_recently';
  static override readonly bodyFields = ['worker', 'retryAfterSeconds'];

  readonly worker: string;
  /** SQS does not say when the name frees up: the whole wait, from now. */
  readonly retryAfterSeconds: number;

  constructor(name: string, options: { cause?: unknown; retryAfterSeconds: number }) {
    super(
      `worker ${name} was removed less than ${options.retryAfterSeconds} s ago and SQS cannot create its queue ` +
        `again yet; register it after ${options.retryAfterSeconds} s`,
      { cause: options.cause, details: { worker: name, retryAfterSeconds: options.retryAfterSeconds } },
    );
    this.worker = name;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
