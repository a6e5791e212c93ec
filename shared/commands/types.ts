// Owns the command lifecycle's constants: Buildbot's result codes, statuses, failure kinds and their results, default timeouts.
/** Buildbot's result codes (buildbot.process.results). */
export const RESULTS = {
  SUCCESS: 0,
  WARNINGS: 1,
  FAILURE: 2,
  SKIPPED: 3,
  EXCEPTION: 4,
  RETRY: 5,
  CANCELLED: 6,
} as const;
export type Results = (typeof RESULTS)[keyof typeof RESULTS];
export const RESULT_NAMES = [
  'SUCCESS',
  'WARNINGS',
  'FAILURE',
  'SKIPPED',
  'EXCEPTION',
  'RETRY',
  'CANCELLED',
] as const;

/** queued → running → complete; each arrow is one conditional write. */
export const COMMAND_STATUS = { queued: 'queued', running: 'running', complete: 'complete' } as const;
export type CommandStatus = (typeof COMMAND_STATUS)[keyof typeof COMMAND_STATUS];

/** One kind per failure case of Buildbot's RemoteCommand (docs/commands.md), plus interruption. */
export const FAILURE_KINDS = {
  worker_lost_before_start: 'worker_lost_before_start',
  start_timeout: 'start_timeout',
  start_error: 'start_error',
  finish_error: 'finish_error',
  worker_lost: 'worker_lost',
  undeliverable: 'undeliverable',
  interrupted: 'interrupted',
} as const;
export type FailureKind = (typeof FAILURE_KINDS)[keyof typeof FAILURE_KINDS];

export interface CommandFailure {
  kind: FailureKind;
  message: string;
}

/** The results each failure kind implies (docs/commands.md's table). */
export const FAILURE_RESULTS: Record<FailureKind, Results> = {
  worker_lost_before_start: RESULTS.RETRY,
  start_timeout: RESULTS.RETRY,
  start_error: RESULTS.EXCEPTION,
  finish_error: RESULTS.EXCEPTION,
  worker_lost: RESULTS.RETRY,
  undeliverable: RESULTS.EXCEPTION,
  interrupted: RESULTS.CANCELLED,
};

/** Defaults, in seconds, for `timeouts` in POST /v1/commands. */
export const DEFAULT_TIMEOUTS = {
  /** Time from dispatch to the worker's claim. @default 60 */
  start: 60,
  /** Longest silence from a running command (no update, no heartbeat) before it is worker_lost. @default 60 */
  heartbeat: 60,
} as const;
