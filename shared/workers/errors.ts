import { ConflictError, NotFoundError } from '../errors.ts';

export class WorkerNotFoundError extends NotFoundError {
  constructor(name: string) {
    super(`no worker named ${name}; an admin registers it with POST /v1/workers`, {
      details: { worker: name },
    });
  }
}

export class WorkerExistsError extends ConflictError {
  constructor(name: string) {
    super(`worker ${name} is already registered; send {"rotate": true} to replace its token`, {
      details: { worker: name },
    });
  }
}
