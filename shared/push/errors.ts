// The errors of push, each with its stable code (docs/errors.md).
import { BuildbotError } from '../errors.ts';

/**
 * API Gateway refused a PostToConnection with a status other than 410 (gone, which deletes the connection): a
 * 403 (the role may not post), a 429 or a 5xx. Push logs and counts it and never fails the write that caused it.
 */
export class PostToConnectionError extends BuildbotError {
  static override readonly code = 'push_post_refused';
  static override readonly httpStatus = undefined;

  constructor(status: number, detail: string) {
    super(`PostToConnection answered ${status}: ${detail.slice(0, 200)}`);
  }
}
