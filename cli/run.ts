// `bbs run`: starts a shell command on a worker, follows its output live, exits with its rc.
import * as ENV from '../shared/config.ts';
import { RESULTS } from '../shared/commands/types.ts';
import type { CommandFailure } from '../shared/commands/types.ts';
import type { CommandUpdate } from '../shared/commands/wire.ts';
import { RemoteCommand } from '../shared/client/RemoteCommand.ts';
import { CONNECTION_OPTIONS, DEFAULT_WORKER, clientFrom, numberOption, parse } from './args.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import type { Io } from './io.ts';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  worker: { type: 'string', short: 'w' },
  workdir: { type: 'string', short: 'd' },
  timeout: { type: 'string' },
  'max-time': { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  verbose: { type: 'boolean', short: 'v' },
} as const;

/** Where the worker runs the command when --workdir is not given: its base directory. */
const DEFAULT_WORKDIR = '.';

/**
 * A shell RemoteCommand that writes the command's output as it arrives: stdout to stdout, stderr to
 * stderr (so `bbs run -- cat f > out` keeps a clean file), headers to stderr with --verbose. It consumes
 * failures: run() always resolves and the CLI turns the outcome into an exit status.
 */
class CliShellCommand extends RemoteCommand {
  constructor(
    args: Record<string, unknown>,
    private readonly io: Io,
    private readonly verbose: boolean,
  ) {
    super('shell', args);
  }

  override async remoteUpdate(update: CommandUpdate, seq: number): Promise<void> {
    if (update.header !== undefined && this.verbose) await this.io.writeErr(update.header);
    if (update.stdout !== undefined) await this.io.writeOut(update.stdout);
    if (update.stderr !== undefined) await this.io.writeErr(update.stderr);
    await super.remoteUpdate(update, seq);
  }

  override async remoteComplete(_failure: CommandFailure | undefined): Promise<undefined> {
    return undefined;
  }
}

/** `bbs run [--worker W] [--workdir D] [--timeout S] [--max-time S] [--env K=V]... -- COMMAND...` */
export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('run', argv, OPTIONS);
  if (positionals.length === 0)
    throw new UsageError(
      'usage: bbs run [--worker W] [--workdir D] -- COMMAND... (e.g. bbs run -- echo hello)',
    );
  const api = clientFrom(values, io.env);
  const worker = values.worker ?? io.env[ENV.worker] ?? DEFAULT_WORKER;
  const args: Record<string, unknown> = {
    // One word list runs as given; a single string runs through /bin/sh -c, as Buildbot's worker does.
    command: positionals.length === 1 ? positionals[0] : positionals,
    workdir: values.workdir ?? DEFAULT_WORKDIR,
  };
  const timeout = numberOption('timeout', values.timeout);
  if (timeout !== undefined) args.timeout = timeout;
  const maxTime = numberOption('max-time', values['max-time']);
  if (maxTime !== undefined) args.maxTime = maxTime;
  if (values.env) args.env = envOption(values.env);

  const cmd = new CliShellCommand(args, io, values.verbose ?? false);
  const stopWaiting = new AbortController();
  let interrupts = 0;
  // First Ctrl-C: interrupt the remote command and wait for its end (its last output still shows).
  // Second Ctrl-C: stop waiting at once; the interrupt was already sent.
  const onInterrupt = (): void => {
    interrupts += 1;
    if (interrupts > 1) {
      stopWaiting.abort(new UsageError('stopped waiting'));
      return;
    }
    void io
      .writeErr(`bbs: interrupting ${cmd.commandId ?? 'the command'} (Ctrl-C again to stop waiting)\n`)
      .then(() => cmd.interrupt('interrupted by bbs run (SIGINT)'))
      .catch((error: unknown) => io.writeErr(`bbs: could not interrupt: ${(error as Error).message}\n`));
  };
  const removeHandler = io.onInterrupt(onInterrupt);
  try {
    await cmd.run(api, worker, { signal: stopWaiting.signal });
  } catch (error) {
    if (stopWaiting.signal.aborted) return EXIT.cancelled;
    throw error;
  } finally {
    removeHandler();
  }
  // Whoever pressed Ctrl-C asked the CLI to stop: 130 even when the command ended before the interrupt landed.
  const status = await exitStatus(cmd, io);
  return interrupts > 0 ? EXIT.cancelled : status;
}

/** The exit status of a finished command (docs/cli.md, "Exit status"), with a reason line when it has no rc. */
async function exitStatus(cmd: RemoteCommand, io: Io): Promise<number> {
  const results = cmd.results();
  if (results === RESULTS.CANCELLED) {
    await io.writeErr(
      `bbs: command ${cmd.commandId} was interrupted: ${cmd.failure?.message ?? cmd.view?.interrupted?.why ?? ''}\n`,
    );
    return EXIT.cancelled;
  }
  if (cmd.failure) {
    await io.writeErr(`bbs: command ${cmd.commandId} failed (${cmd.failure.kind}): ${cmd.failure.message}\n`);
    return results === RESULTS.RETRY
      ? EXIT.retry
      : results === RESULTS.EXCEPTION
        ? EXIT.exception
        : EXIT.failure;
  }
  if (cmd.rc === undefined) {
    await io.writeErr(`bbs: command ${cmd.commandId} ended without an exit code${reason(cmd)}\n`);
    return EXIT.failure;
  }
  if (cmd.rc < 0 || cmd.rc > 255) {
    await io.writeErr(
      `bbs: command ${cmd.commandId} exited with rc ${cmd.rc}${reason(cmd)}, which no exit status can carry\n`,
    );
    return EXIT.failure;
  }
  if (cmd.remoteFailureReason)
    await io.writeErr(`bbs: command ${cmd.commandId}: ${cmd.remoteFailureReason}\n`);
  return cmd.rc;
}

function reason(cmd: RemoteCommand): string {
  return cmd.remoteFailureReason ? ` (${cmd.remoteFailureReason})` : '';
}

function envOption(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--env takes NAME=VALUE, got ${pair}`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return env;
}
