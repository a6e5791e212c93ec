// `bbs run`: starts a shell command on a worker, follows its output live, exits with its rc.
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import * as LIMITS from '../shared/limits.ts';
import { RESULTS } from '../shared/commands/types.ts';
import type { CommandFailure } from '../shared/commands/types.ts';
import type { CommandUpdate } from '../shared/commands/wire.ts';
import { RemoteCommand } from '../shared/client/RemoteCommand.ts';
import { CONNECTION_OPTIONS, DEFAULT_WORKER, clientFrom, numberOption, parse } from './args.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import type { Io } from './io.ts';
import { noticeWhileQueued } from './progress.ts';

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  worker: { type: 'string', short: 'w' },
  workdir: { type: 'string', short: 'd' },
  timeout: { type: 'string' },
  'max-time': { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  logfile: { type: 'string', multiple: true },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  'no-stdin': { type: 'boolean', short: 'n' },
} as const;

/** Where the worker runs the command when --workdir is not given: its base directory. */
const DEFAULT_WORKDIR = '.';

/**
 * A shell RemoteCommand that writes the command's output as it arrives: stdout to stdout, stderr to
 * stderr (so `bbs run -- cat f > out` keeps a clean file), headers to stderr with --verbose. It consumes
 * failures: run() always resolves and the CLI turns the outcome into an exit status.
 */
class CliShellCommand extends RemoteCommand {
  private stopNotice: (() => void) | undefined;

  constructor(
    args: Record<string, unknown>,
    private readonly io: Io,
    private readonly flags: { verbose: boolean; quiet: boolean },
  ) {
    super('shell', args);
  }

  /** Says which command started where (the id bbs status, logs and interrupt take), and why it waits if it does. */
  protected override async start(): Promise<void> {
    await super.start();
    if (this.flags.quiet) return;
    const commandId = this.commandId!;
    await this.io.writeErr(`bbs: started ${commandId} on ${this.worker}\n`);
    this.stopNotice = noticeWhileQueued(this.api!, { commandId, worker: this.worker!, io: this.io });
  }

  override async remoteUpdate(update: CommandUpdate, seq: number): Promise<void> {
    this.stopNotice?.(); // any update means the worker has the command
    if (update.header !== undefined && this.flags.verbose) await this.io.writeErr(update.header);
    if (update.stdout !== undefined) await this.io.writeOut(update.stdout);
    if (update.stderr !== undefined) await this.io.writeErr(update.stderr);
    await super.remoteUpdate(update, seq);
  }

  stopWaitNotice(): void {
    this.stopNotice?.();
  }

  override async remoteComplete(_failure: CommandFailure | undefined): Promise<undefined> {
    this.stopNotice?.();
    return undefined;
  }
}

/** `bbs run [--worker W] [--workdir D] [--timeout S] [--max-time S] [--env K=V]... -- COMMAND...` */
export async function runCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseRun(argv);
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
  if (values.env) args.env = pairsOption('env', values.env);
  // Buildbot's logfiles: the worker follows FILE (in workdir) and sends it as log NAME (bbs logs ID NAME).
  if (values.logfile) args.logfiles = pairsOption('logfile', values.logfile);
  if (!values['no-stdin']) await addStdin(args, io);

  const cmd = new CliShellCommand(args, io, {
    verbose: values.verbose ?? false,
    quiet: values.quiet ?? false,
  });
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
    cmd.stopWaitNotice();
  }
  // Whoever pressed Ctrl-C asked the CLI to stop: 130 even when the command ended before the interrupt landed.
  const status = await exitStatus(cmd, io);
  return interrupts > 0 ? EXIT.cancelled : status;
}

/** The exit status of a finished command (docs/cli.md, "Exit status"), with a reason line when it has no rc. */
export async function exitStatus(cmd: RemoteCommand, io: Io): Promise<number> {
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

function pairsOption(flag: string, pairs: string[]): Record<string, string> {
  const named: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--${flag} takes NAME=VALUE, got ${pair}`);
    named[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return named;
}

/**
 * parse() with advice for the common slip, `bbs run ls -la`: without `--`, a dash word after the command is read
 * as bbs run's own flag (-l, -a) or refused as unknown. Either way the advice shows the same line with `--`.
 */
function parseRun(argv: string[]): ReturnType<typeof parse<typeof OPTIONS>> {
  const { tokens } = parseArgs({
    args: argv,
    options: OPTIONS,
    strict: false,
    tokens: true,
    allowPositionals: true,
  });
  const first = tokens.find((token) => token.kind === 'positional')?.index ?? -1;
  const late = tokens.find((token) => token.kind === 'option' && first !== -1 && token.index > first);
  if (first !== -1 && late !== undefined && !argv.includes('--')) {
    const suggestion = ['bbs run', ...argv.slice(0, first), '--', ...argv.slice(first)].join(' ');
    throw new UsageError(
      `bbs run: ${argv[late.index]} after the command would be read as an option of bbs run; to pass it to the command, put -- before the command: ${suggestion}`,
    );
  }
  return parse('run', argv, OPTIONS);
}

/**
 * Piped stdin becomes the command's `initial_stdin` (as text, UTF-8). A terminal is never read, and -n skips
 * reading. The args travel in one queue message, so stdin counts toward their limit (LIMITS.argsBytes).
 */
async function addStdin(args: Record<string, unknown>, io: Io): Promise<void> {
  const stdin = await io.readStdin(LIMITS.argsBytes);
  if (stdin === undefined || stdin.length === 0) return;
  args.initial_stdin = stdin.toString('utf8');
  const size = Buffer.byteLength(JSON.stringify(args));
  if (size > LIMITS.argsBytes)
    throw new UsageError(
      `piped stdin is too large: the command's args with stdin come to ${stdin.length > LIMITS.argsBytes ? 'over ' : ''}${size.toLocaleString('en')} bytes of JSON, over the ${LIMITS.argsBytes / 1024} KiB (${LIMITS.argsBytes.toLocaleString('en')} bytes) limit; copy the input to the worker instead, or pass -n to send no stdin`,
    );
}
