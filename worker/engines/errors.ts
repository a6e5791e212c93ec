// The buildbot-worker engine's errors: in-process only (they never answer HTTP), each with a stable code (docs/errors.md).
import { BuildbotError } from '../../shared/errors.ts';

/** A frame from the stock worker that is not the msgpack the protocol uses (truncated, trailing bytes, an ext type). */
export class MsgpackError extends BuildbotError {
  static override readonly code = 'msgpack_invalid';
  static override readonly httpStatus = undefined;
}

/**
 * The stock worker refused a request (an `is_exception` response, in its own words), did not connect in time,
 * or its connection closed while a request waited.
 */
export class StockWorkerError extends BuildbotError {
  static override readonly code = 'buildbot_worker_failed';
  static override readonly httpStatus = undefined;
}
