// Owns Buildbot's results rule: CANCELLED if interrupted, else decodeRC[rc], else FAILURE.
import { FAILURE_RESULTS, RESULTS } from './types.ts';
import type { CommandFailure, Results } from './types.ts';

/** decodeRC when the client gives none: Buildbot's `{0: SUCCESS}`. */
export const DEFAULT_DECODE_RC: Record<string, Results> = { '0': RESULTS.SUCCESS };

export interface ResultsInput {
  interrupted: boolean;
  rc?: number;
  decodeRC: Record<string, number>;
  failure?: CommandFailure;
}

/**
 * Buildbot's RemoteCommand results: CANCELLED if interrupted; else a failure's own results (start_error and
 * finish_error are EXCEPTION, the lost cases RETRY); else decodeRC[rc] if present; else FAILURE.
 */
export function computeResults(input: ResultsInput): Results {
  if (input.interrupted) return RESULTS.CANCELLED;
  if (input.failure) return FAILURE_RESULTS[input.failure.kind];
  if (input.rc === undefined) return RESULTS.FAILURE;
  const decoded = input.decodeRC[String(input.rc)];
  return decoded === undefined ? RESULTS.FAILURE : (decoded as Results);
}
