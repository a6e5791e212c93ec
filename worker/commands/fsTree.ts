// Buildbot's rmdir and cpdir: `rm -rf` and `cp -R -P -p -v` run through runprocess, with its headers, timeouts and interrupt.
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { CommandStartError } from '../errors.ts';
import { realBasedir, realPathInside } from '../paths.ts';
import { optionalBooleanArg, optionalNumberArg } from './args.ts';
import { copyPathArgs, pathListArg } from './fsArgs.ts';
import { RunProcess } from './runProcess.ts';
import { parseShellArgs } from './shell.ts';
import { commandBaseEnvironment } from './shellFormat.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from './types.ts';

/**
 * As Buildbot's worker (commands/fs.py RemoveDirectory and CopyDirectory on posix), each runs a program
 * through runprocess in the worker's base directory: the output and headers of `rm` and `cp -v` reach the
 * log, `timeout` (default 120 s without output) and `maxTime` kill it, `logEnviron` shows the environment,
 * and an interrupt kills it. rmdir retries after `chmod -Rf u+rwx` as Buildbot does; cpdir runs
 * `cp -R -P -p -v FROM TO`, which copies FROM into TO when TO is an existing directory (Buildbot nests).
 *
 * Differences, on purpose: both paths are confined by real path first (rmdir acts on a link itself, cpdir
 * copies links as links, -P), rmdir refuses the base directory itself, and chmod is skipped when the top is
 * a symlink (chmod would follow it out).
 */

/** Buildbot's default timeout for rmdir and cpdir (fs.py: `args.get('timeout', 120)`). */
export const TREE_COMMAND_TIMEOUT_S = 120;

const FOLLOW = { followLast: true } as const;
const ON_THE_LINK = { followLast: false } as const;

/** The runprocess settings a tree command takes from its args. */
function processArgs(className: string, ctx: CommandContext): Record<string, unknown> {
  const timeout = ctx.args.timeout === undefined ? TREE_COMMAND_TIMEOUT_S : ctx.args.timeout;
  return {
    workdir: '.',
    timeout,
    maxTime: optionalNumberArg(className, ctx.args, 'maxTime') ?? null,
    logEnviron: optionalBooleanArg(className, ctx.args, 'logEnviron', true),
  };
}

/**
 * Runs the programs `steps` gives, one after another, each as runprocess does; stops at an interrupt.
 * `step(run)` runs one program and answers its rc without sending it (Buildbot's sendRC=0).
 */
function treeCommand(
  name: string,
  className: string,
  prepare: (ctx: CommandContext) => Promise<(step: (argv: string[]) => Promise<number>) => Promise<number>>,
): WorkerCommand {
  return {
    name,
    async start(ctx): Promise<StartedCommand> {
      const settings = processArgs(className, ctx);
      const work = await prepare(ctx);
      const realBase = await realBasedir(ctx.basedir);
      let current: RunProcess | undefined;
      let interrupted = false;
      const step = async (argv: string[]): Promise<number> => {
        if (interrupted) return -1;
        const opts = parseShellArgs(
          { ...settings, command: argv },
          ctx.basedir,
          commandBaseEnvironment(process.env),
        );
        opts.workdir = realBase;
        let rc = -1;
        const quiet: CommandContext = {
          ...ctx,
          send: (update) => {
            if ('rc' in update && Object.keys(update).length === 1) rc = update.rc as number;
            // Buildbot's master writes this line when the command's rc arrives, after elapsedTime: done() below.
            else if (update.header?.startsWith('program finished with exit code ')) return;
            else ctx.send(update);
          },
        };
        current = new RunProcess(quiet, opts, realBase);
        await current.start();
        await current.done;
        return rc;
      };
      const done = work(step).then((rc) => {
        ctx.send({ header: `program finished with exit code ${rc}\n` });
        ctx.send({ rc });
      });
      return {
        done,
        interrupt: () => {
          interrupted = true;
          current?.interrupt('command interrupted');
        },
      };
    },
  };
}

/**
 * rmdir's paths, each resolved to act on a link itself and confined by real path; the base directory itself is
 * refused. Both engines use it (the stock worker's rmdir is handed these: worker/engines/stockCommands.ts).
 */
export async function rmdirTargets(ctx: CommandContext, realBase: string): Promise<string[]> {
  const targets: string[] = [];
  for (const { name, value } of pathListArg('RemoveDirectory', ctx.args)) {
    const resolved = await realPathInside(ctx.basedir, name, value, ON_THE_LINK);
    if (resolved === realBase)
      throw new CommandStartError(
        `RemoveDirectory: refusing to remove the worker's base directory ('${value}')`,
      );
    targets.push(resolved);
  }
  return targets;
}

export const rmdirCommand = treeCommand('rmdir', 'RemoveDirectory', async (ctx) => {
  const targets = await rmdirTargets(ctx, await realBasedir(ctx.basedir));
  return async (step) => {
    let rc = 0;
    for (const target of targets) {
      let result = await step(['rm', '-rf', target]);
      if (result !== 0 && (await lstat(target).catch(() => undefined))?.isDirectory()) {
        // rm -rf fails on a read-only directory inside: Buildbot's chmod -Rf u+rwx, then rm -rf again.
        await step(['chmod', '-Rf', 'u+rwx', target]);
        result = await step(['rm', '-rf', target]);
      }
      // Buildbot goes on with the other paths and reports the last failure.
      if (result !== 0) rc = result;
    }
    return rc;
  };
});

export const cpdirCommand = treeCommand('cpdir', 'CopyDirectory', async (ctx) => {
  const { from, to } = copyPathArgs('CopyDirectory', ctx.args);
  const source = await realPathInside(ctx.basedir, from.name, from.value, FOLLOW);
  const target = await realPathInside(ctx.basedir, to.name, to.value, FOLLOW);
  return async (step) => {
    await mkdir(path.dirname(target), { recursive: true });
    return step(['cp', '-R', '-P', '-p', '-v', source, target]);
  };
});
