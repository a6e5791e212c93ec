// What a worker command is: its context, its start(), and the StartedCommand it returns.
import type { ApiConnection } from '../../shared/client/http.ts';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import type { WorkerLogSink } from '../log.ts';
import type { CommandArgs } from './args.ts';

/** What a worker command gets to run with. Paths in `args` are resolved inside `basedir` by the command. */
export interface CommandContext {
  commandId: string;
  args: CommandArgs;
  /** Absolute, resolved base directory of the worker. */
  basedir: string;
  /** Queue one update for the master (Buildbot's sendStatus). */
  send(update: CommandUpdate): void;
  /**
   * Backpressure: undefined while the output held for the API is under its bound, else a promise that
   * settles once it has drained. A command reading a process's pipes pauses them until then.
   */
  backlogged?(): Promise<void> | undefined;
  log: WorkerLogSink;
  /** The worker's API connection, for commands that ask it for something (the transfers' presigned URLs). */
  connection?: ApiConnection;
}

/** A command that has started: its process (if any) runs until `done` settles. */
export interface StartedCommand {
  /** Settles once the command has queued its last update; a rejection is a finish_error. */
  done: Promise<void>;
  /** Stop as soon as possible (Buildbot's interrupt()); the command still settles `done`. */
  interrupt(why: string): void;
}

/**
 * One entry of the registry. `start` checks the args and starts the work; it rejects with a
 * CommandStartError (an unknown arg shape, a path outside basedir, a missing executable), which the
 * worker reports as `start_error`.
 */
export interface WorkerCommand {
  readonly name: string;
  start(ctx: CommandContext): Promise<StartedCommand>;
}
