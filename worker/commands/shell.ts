// Buildbot's `shell` worker command: runs a program in its workdir and streams its output.
import { CommandStartError } from '../errors.ts';
import { realBasedir, realPathInside, resolveInside } from '../paths.ts';
import { optionalBooleanArg, optionalNumberArg, optionalStringArg, requireArgs, stringArg } from './args.ts';
import type { CommandArgs } from './args.ts';
import { STREAM_LOGS } from '../../shared/commands/logText.ts';
import { RunProcess, signalNumber } from './runProcess.ts';
import type { ShellOptions } from './runProcess.ts';
import { buildEnvironment, commandBaseEnvironment, shellArgv, shellQuote } from './shellFormat.ts';
import type { ShellArgv } from './shellFormat.ts';
import type { WorkerCommand } from './types.ts';

/**
 * Buildbot's `shell` worker command (commands/shell.py + runprocess.py): runs a program in a workdir
 * under the base directory, streams its output, enforces timeout / maxTime / max_lines, and on
 * interrupt signals the whole process group.
 */
const CLASS_NAME = 'WorkerShellCommand';

function parseLogfiles(args: CommandArgs, workdir: string, basedir: string): ShellOptions['logfiles'] {
  const raw = args.logfiles;
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new CommandStartError(`${CLASS_NAME}: 'logfiles' must map log names to file names`);
  const out: ShellOptions['logfiles'] = {};
  for (const [name, value] of Object.entries(raw)) {
    if ((STREAM_LOGS as readonly string[]).includes(name))
      throw new CommandStartError(
        `${CLASS_NAME}: logfiles['${name}']: ${STREAM_LOGS.join(', ')} are the command's own output; name the log otherwise`,
      );
    let filename: unknown = value;
    let follow = false;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      filename = (value as Record<string, unknown>).filename;
      follow = (value as Record<string, unknown>).follow === true;
    }
    if (typeof filename !== 'string')
      throw new CommandStartError(`${CLASS_NAME}: logfiles['${name}'] needs a filename`);
    // Relative to the workdir as in Buildbot, and still inside the base directory.
    const absolute = resolveInside(
      basedir,
      `logfiles['${name}']`,
      resolveInside(workdir, 'logfile', filename),
    );
    out[name] = { filename: absolute, shown: filename, follow };
  }
  return out;
}

/**
 * Seconds without output before the command is killed. As Buildbot's ShellCommand step: 1200 when not
 * given; `null` (Buildbot's None) or 0 for none.
 */
export const DEFAULT_SHELL_TIMEOUT_S = 1200;

/**
 * usePTY: the program runs on a real pseudo-terminal (`tty` prints /dev/pts/N, `stty` works, stderr joins
 * stdout on the terminal, lines end in CRLF), as Buildbot's usePTY does, through util-linux `script`
 * (on every Debian and Ubuntu image): no native module in the worker bundle. `-E never` keeps initial_stdin
 * from being echoed into the output; `-e` passes the program's exit code on.
 */
function ptyArgv(argv: ShellArgv): ShellArgv {
  const line = `exec ${argv.real.map(shellQuote).join(' ')}`;
  return {
    ...argv,
    real: ['script', '--quiet', '--return', '--echo', 'never', '--command', line, '/dev/null'],
  };
}

function timeoutArg(args: CommandArgs): number | undefined {
  if (args.timeout === undefined) return DEFAULT_SHELL_TIMEOUT_S;
  return optionalNumberArg(CLASS_NAME, args, 'timeout') || undefined;
}

export function parseShellArgs(args: CommandArgs, basedir: string, baseEnv: NodeJS.ProcessEnv): ShellOptions {
  requireArgs(CLASS_NAME, args, ['workdir', 'command']);
  const workdir = resolveInside(basedir, 'workdir', stringArg(CLASS_NAME, args, 'workdir'));
  const env = args.env;
  if (env !== undefined && env !== null && (typeof env !== 'object' || Array.isArray(env)))
    throw new CommandStartError(`${CLASS_NAME}: 'env' must map names to strings, lists or null`);
  const interruptSignal = optionalStringArg(CLASS_NAME, args, 'interruptSignal');
  if (interruptSignal !== undefined && signalNumber(interruptSignal) === 0)
    throw new CommandStartError(
      `${CLASS_NAME}: interruptSignal '${interruptSignal}' is not a signal name (try KILL, TERM, INT)`,
    );
  const maxLines = optionalNumberArg(CLASS_NAME, args, 'max_lines');
  const initialStdin = optionalStringArg(CLASS_NAME, args, 'initial_stdin');
  const usePTY = optionalBooleanArg(CLASS_NAME, args, 'usePTY', false);
  const argv = shellArgv(args.command);
  return {
    argv: usePTY ? ptyArgv(argv) : argv,
    usePTY,
    workdir,
    env: {
      ...buildEnvironment(baseEnv, (env ?? undefined) as Record<string, unknown> | undefined),
      PWD: workdir,
    },
    timeout: timeoutArg(args),
    maxTime: optionalNumberArg(CLASS_NAME, args, 'maxTime') || undefined,
    maxLines,
    sigtermTime: optionalNumberArg(CLASS_NAME, args, 'sigtermTime'),
    interruptSignal,
    wantStdout: optionalBooleanArg(CLASS_NAME, args, 'want_stdout', true),
    wantStderr: optionalBooleanArg(CLASS_NAME, args, 'want_stderr', true),
    initialStdin,
    logfiles: parseLogfiles(args, workdir, basedir),
    logEnviron: optionalBooleanArg(CLASS_NAME, args, 'logEnviron', true),
    inheritedEnv: baseEnv,
  };
}

export const shellCommand: WorkerCommand = {
  name: 'shell',
  async start(ctx) {
    // The agent's token and AWS credentials stay out of the command, its `${NAME}` expansion and its headers.
    const opts = parseShellArgs(ctx.args, ctx.basedir, commandBaseEnvironment(process.env));
    // By real path: a workdir reached through a symlink that leads out of the base directory is refused.
    // (parseShellArgs checked that `workdir` is a string inside basedir; the error names it as the caller sent it.)
    const requested = ctx.args.workdir as string;
    opts.workdir = await realPathInside(ctx.basedir, 'workdir', requested, { followLast: true });
    opts.env.PWD = opts.workdir;
    const run = new RunProcess(ctx, opts, await realBasedir(ctx.basedir));
    await run.start();
    return run;
  },
};
