/**
 * The exit statuses of `bbs` (docs/cli.md). `bbs run` exits with the command's own rc when it ran to one;
 * the others follow sysexits.h where it has a name for the case.
 */
export const EXIT = {
  ok: 0,
  /** The command ended FAILURE without an rc, or with an rc outside 0..255; or a requested item is missing. */
  failure: 1,
  /** The command ended EXCEPTION (start_error, finish_error, undeliverable). */
  exception: 2,
  /** EX_USAGE: a bad flag, a missing argument or setting. Nothing was sent. */
  usage: 64,
  /** EX_UNAVAILABLE: the API could not be reached, or refused the request. */
  unavailable: 69,
  /** EX_TEMPFAIL: the command ended RETRY (worker_lost, worker_lost_before_start, start_timeout): try again. */
  retry: 75,
  /** The command was interrupted (CANCELLED), by Ctrl-C or by anyone else; 128 + SIGINT as shells report it. */
  cancelled: 130,
  /** Whoever read stdout went away (`bbs logs ID | head`): 128 + SIGPIPE, as a shell tool that got it. */
  brokenPipe: 141,
} as const;
