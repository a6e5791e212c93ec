// The registry of the buildbot-worker engine: each command does the master's path work and forwards to the stock worker.
import path from 'node:path';
import { CommandLostError, CommandStartError } from '../errors.ts';
import { realBasedir, realPathInside, resolveInside } from '../paths.ts';
import type { CommandRegistry } from '../commands/registry.ts';
import { copyPathArgs, pathArg, pathListArg, statPathArg } from '../commands/fsArgs.ts';
import { rmdirTargets } from '../commands/fsTree.ts';
import type { CommandArgs } from '../commands/args.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from '../commands/types.ts';
import type { CommandUpdate } from '../../shared/commands/wire.ts';
import type { MsgpackValue } from './msgpackCodec.ts';
import { stockConnection, textOf } from './msgpackMaster.ts';
import type { MsgpackMaster } from './msgpackMaster.ts';
import { stockTransferCommands } from './stockTransfers.ts';

/**
 * Buildbot's master does the path work before start_command (protocols/msgpack.py remoteStartCommand):
 * it joins the worker's basedir and the builder directory into absolute paths and renames the file
 * commands' arguments to the worker's (`dir` → `paths`, `fromdir` → `from_path`, ...). Here the builder
 * directory is the agent's own basedir, so the same command finds the same files on either engine, and
 * every path is first confined to it by real path (realPathInside), as our own commands do: the stock
 * worker confines nothing. A path that leads out is a start_error before the stock worker hears of it.
 */

type Args = { [key: string]: MsgpackValue | undefined };
type Prepare = (ctx: CommandContext, realBase: string) => Promise<{ name: string; args: Args }>;

const FOLLOW = { followLast: true } as const;
const ON_THE_LINK = { followLast: false } as const;

/** The shell args as Buildbot's ShellCommand step sends them when the caller left them out. */
const SHELL_DEFAULTS: Args = {
  env: {},
  want_stdout: true,
  want_stderr: true,
  logfiles: {},
  timeout: 1200,
  maxTime: null,
  sigtermTime: null,
  usePTY: false,
  logEnviron: true,
  initial_stdin: null,
  interruptSignal: 'KILL',
};

/**
 * Buildbot's master writes "program finished with exit code N" to the header when a command's rc arrives
 * (process/remotecommand.py remoteUpdate); our own worker writes it for the commands that run a process
 * (runProcess.ts), so the agent, playing the master here, writes it for the same commands.
 */
const PROCESS_COMMANDS = new Set(['shell', 'rmdir', 'cpdir']);

/** One update from the stock worker in our format (the worker's own `elapsed` is dropped: CommandRun measures). */
export function toOurUpdates(pairs: [string, MsgpackValue][], command = ''): CommandUpdate[] {
  const out: CommandUpdate[] = [];
  for (const [key, value] of pairs) {
    if (key === 'stdout' || key === 'stderr' || key === 'header')
      out.push({ [key]: textOf(value) } as CommandUpdate);
    else if (key === 'log' && Array.isArray(value))
      out.push({ log: [String(value[0]), textOf(value[1] ?? '')] } as CommandUpdate);
    else if (key !== 'elapsed') out.push({ [key]: value } as CommandUpdate);
    if (key === 'rc' && PROCESS_COMMANDS.has(command))
      out.push({ header: `program finished with exit code ${String(value)}\n` });
  }
  return out;
}

function withDefaults(args: CommandArgs, defaults: Args): Args {
  const out: Args = { ...defaults };
  for (const [key, value] of Object.entries(args)) if (value !== undefined) out[key] = value as MsgpackValue;
  return out;
}

/** The tree commands' runprocess settings, passed on as given. */
function processSettings(args: CommandArgs): Args {
  const out: Args = {};
  for (const key of ['timeout', 'maxTime', 'logEnviron'])
    if (args[key] !== undefined) out[key] = args[key] as MsgpackValue;
  return out;
}

const PREPARE: Record<string, Prepare> = {
  async shell(ctx) {
    const args = withDefaults(ctx.args, SHELL_DEFAULTS);
    if (typeof args.workdir !== 'string')
      throw new CommandStartError('WorkerShellCommand is missing args: workdir');
    const workdir = await realPathInside(ctx.basedir, 'workdir', args.workdir, FOLLOW);
    const logfiles = args.logfiles;
    if (logfiles && typeof logfiles === 'object' && !Array.isArray(logfiles) && !Buffer.isBuffer(logfiles))
      for (const [name, value] of Object.entries(logfiles)) {
        const file = typeof value === 'string' ? value : (value as Args | null)?.filename;
        if (typeof file === 'string')
          resolveInside(ctx.basedir, `logfiles['${name}']`, path.resolve(workdir, file));
      }
    return { name: 'shell', args: { ...args, workdir } };
  },
  async mkdir(ctx) {
    const paths: string[] = [];
    for (const { name, value } of pathListArg('MakeDirectory', ctx.args))
      paths.push(await realPathInside(ctx.basedir, name, value, FOLLOW));
    return { name: 'mkdir', args: { paths } };
  },
  async rmdir(ctx, realBase) {
    const paths = await rmdirTargets(ctx, realBase);
    return { name: 'rmdir', args: { paths, ...processSettings(ctx.args) } };
  },
  async cpdir(ctx) {
    const { from, to } = copyPathArgs('CopyDirectory', ctx.args);
    return {
      name: 'cpdir',
      args: {
        from_path: await realPathInside(ctx.basedir, from.name, from.value, FOLLOW),
        to_path: await realPathInside(ctx.basedir, to.name, to.value, FOLLOW),
        ...processSettings(ctx.args),
      },
    };
  },
  async stat(ctx) {
    const { name, value } = statPathArg('StatFile', ctx.args);
    return { name: 'stat', args: { path: await realPathInside(ctx.basedir, name, value, FOLLOW) } };
  },
  async glob(ctx) {
    const { name, value } = pathArg('GlobPath', ctx.args);
    return { name: 'glob', args: { path: resolveInside(ctx.basedir, name, value) } };
  },
  async listdir(ctx) {
    const { name, value } = pathArg('ListDir', ctx.args, ['path', 'dir']);
    return { name: 'listdir', args: { path: await realPathInside(ctx.basedir, name, value, FOLLOW) } };
  },
  async rmfile(ctx) {
    const { name, value } = pathArg('RemoveFile', ctx.args);
    return { name: 'rmfile', args: { path: await realPathInside(ctx.basedir, name, value, ON_THE_LINK) } };
  },
};

let nextCommandId = 0;

/**
 * A glob's matches as our engine answers them: only those whose directory lies inside basedir after symlinks
 * (the stock worker's glob follows a link that leads out), and relative ones for a relative pattern (the
 * master's path work made the pattern absolute).
 */
async function globFiles(
  basedir: string,
  realBase: string,
  relative: boolean,
  files: string[],
): Promise<string[]> {
  const kept: string[] = [];
  for (const file of files) {
    const inside = await realPathInside(basedir, 'path', file, ON_THE_LINK).then(
      () => true,
      () => false,
    );
    if (inside) kept.push(relative && path.isAbsolute(file) ? path.relative(realBase, file) || '.' : file);
  }
  return kept;
}

/** What the engine does around a command that runs a process: list its group once started, unlist it at the end. */
export interface ProcessWatch {
  started(): Promise<void>;
  ended(): void;
}

function forwardingCommand(
  name: string,
  prepare: Prepare,
  master: MsgpackMaster,
  watch: ProcessWatch,
): WorkerCommand {
  return {
    name,
    async start(ctx): Promise<StartedCommand> {
      const realBase = await realBasedir(ctx.basedir);
      const { name: wireName, args } = await prepare(ctx, realBase);
      const relative = name === 'glob' && !path.isAbsolute(String(ctx.args.path));
      const connection = await stockConnection(master, name);
      const id = String(nextCommandId++);
      let settle!: { resolve(): void; reject(e: Error): void };
      const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      // Updates are relayed one after another: a glob's files are checked (asynchronously) before its rc goes.
      let relay = Promise.resolve();
      const then = (step: () => void | Promise<void>): void => {
        relay = relay.then(step).catch((error: Error) => settle.reject(error));
      };
      await connection
        .startCommand(id, wireName, args, {
          onUpdate: (pairs) =>
            then(async () => {
              for (const update of toOurUpdates(pairs, wireName)) {
                if (name === 'glob' && 'files' in update && Array.isArray(update.files))
                  update.files = await globFiles(ctx.basedir, realBase, relative, update.files);
                ctx.send(update);
              }
            }),
          onComplete: (failure) =>
            then(() => {
              if (PROCESS_COMMANDS.has(wireName)) watch.ended();
              return failure === null
                ? settle.resolve()
                : settle.reject(new Error(`buildbot-worker: ${failure}`));
            }),
          onLost: (why) =>
            settle.reject(new CommandLostError(`${why} while the command ran (buildbot-worker lost)`)),
        })
        .catch((error: Error) => {
          // The stock worker's own words (a StockWorkerError), or the lost connection's.
          throw new CommandStartError(error.message, { cause: error });
        });
      // The stock worker forked before it answered: its process group is listed now (stockGroups.ts).
      if (PROCESS_COMMANDS.has(wireName)) await watch.started();
      return {
        done,
        interrupt: (why) => void connection.interruptCommand(id, why).catch(() => undefined),
      };
    },
  };
}

export function stockRegistry(master: MsgpackMaster, watch: ProcessWatch): CommandRegistry {
  const commands = [
    ...Object.entries(PREPARE).map(([name, prepare]) => forwardingCommand(name, prepare, master, watch)),
    // The transfers move their bytes through the agent, onto the artifact path (stockTransfers.ts).
    ...stockTransferCommands(master),
  ];
  return new Map(commands.map((command) => [command.name, command]));
}
