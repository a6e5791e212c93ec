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
