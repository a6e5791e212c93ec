// Buildbot's quick file-system worker commands: mkdir, stat, glob, listdir, rmfile (rmdir and cpdir: fsTree.ts).
import { lstat, mkdir, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import * as LIMITS from '../../shared/limits.ts';
import { CommandFinishError } from '../errors.ts';
import { realPathInside, resolveInside } from '../paths.ts';
import { pathArg, pathListArg, statPathArg } from './fsArgs.ts';
import { glob } from './glob.ts';
import { errnoOf, isSystemError, strerror } from './osError.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from './types.ts';

/**
 * Buildbot's file-system worker commands (commands/fs.py). Paths are relative to the worker's base
 * directory (or absolute inside it), under either of Buildbot's argument names (fsArgs.ts). Each ends with
 * {rc: 0}, or on an OS error with a header "<command>: <strerror>: <path>" and rc = errno, as Buildbot
 * sends them.
 *
 * Every path is confined by real path (realPathInside): a symlink inside basedir that leads out is refused
 * as a start_error. rmfile acts on a link itself, never on what it points to.
 */

/** Sends the `{files}` update, or throws CommandFinishError when it is over LIMITS.filesUpdateBytes. */
function sendFiles(ctx: CommandContext, command: string, files: string[]): void {
  const bytes = Buffer.byteLength(JSON.stringify(files));
  if (bytes > LIMITS.filesUpdateBytes)
    throw new CommandFinishError(
      `${command}: ${files.length} paths are ${bytes} bytes as JSON, over the limit of ${LIMITS.filesUpdateBytes} bytes for one files update (LIMITS.filesUpdateBytes); narrow the pattern or the directory`,
      { details: { paths: files.length, bytes, limit: LIMITS.filesUpdateBytes } },
    );
  ctx.send({ files });
}

/** The work of a quick command, made by checking its args (a throw there is a start_error). */
type Work = () => Promise<void>;

function quickCommand(name: string, prepare: (ctx: CommandContext) => Promise<Work>): WorkerCommand {
  return {
    name,
    async start(ctx): Promise<StartedCommand> {
      const work = await prepare(ctx);
      // These finish in moments; an interrupt lets them finish, as Buildbot's do.
      return { done: work(), interrupt: () => undefined };
    },
  };
}

/** Runs one OS operation; an OS error becomes Buildbot's header and rc, anything else propagates. */
async function osStep(
  ctx: CommandContext,
  header: string,
  shown: string,
  rcOnError: number | 'errno',
  step: () => Promise<void>,
): Promise<boolean> {
  try {
    await step();
    return true;
  } catch (error) {
    if (!isSystemError(error)) throw error;
    ctx.send({ header: `${header}: ${strerror(error)}: ${shown}\n` });
    ctx.send({ rc: rcOnError === 'errno' ? errnoOf(error) : rcOnError });
    return false;
  }
}

const FOLLOW = { followLast: true } as const;
const ON_THE_LINK = { followLast: false } as const;

export const mkdirCommand = quickCommand('mkdir', async (ctx) => {
  const paths: [string, string][] = [];
  for (const { name, value } of pathListArg('MakeDirectory', ctx.args))
    paths.push([value, await realPathInside(ctx.basedir, name, value, FOLLOW)]);
  return async () => {
    for (const [shown, dir] of paths) {
      if (
        !(await osStep(ctx, 'mkdir', shown, 'errno', () =>
          mkdir(dir, { recursive: true }).then(() => undefined),
        ))
      )
        return;
    }
    ctx.send({ rc: 0 });
  };
});

export const statCommand = quickCommand('stat', async (ctx) => {
  const { name, value: shown } = statPathArg('StatFile', ctx.args);
  const file = await realPathInside(ctx.basedir, name, shown, FOLLOW);
  return async () => {
    await osStep(ctx, 'stat', shown, 'errno', async () => {
      // lstat of the real path: a link swapped in after the check is reported, not followed.
      const s = await lstat(file);
      // Python's tuple(os.stat(...)): mode, ino, dev, nlink, uid, gid, size, atime, mtime, ctime (whole seconds).
      const seconds = (ms: number): number => Math.floor(ms / 1000);
      ctx.send({
        stat: [
          s.mode,
          s.ino,
          s.dev,
          s.nlink,
          s.uid,
          s.gid,
          s.size,
          seconds(s.atimeMs),
          seconds(s.mtimeMs),
          seconds(s.ctimeMs),
        ],
      });
      ctx.send({ rc: 0 });
    });
  };
});

/** Keeps the matches whose directory lies inside basedir after symlinks (a match under a link leading out is dropped). */
async function insideOnly(basedir: string, found: string[]): Promise<string[]> {
  const kept: string[] = [];
  for (const file of found) {
    const inside = await realPathInside(basedir, 'path', file, ON_THE_LINK).then(
      () => true,
      () => false,
    );
    if (inside) kept.push(file);
  }
  return kept;
}

export const globCommand = quickCommand('glob', async (ctx) => {
  const pattern = pathArg('GlobPath', ctx.args).value;
  const absolute = resolveInside(ctx.basedir, 'path', pattern);
  return async () => {
    const found = await insideOnly(ctx.basedir, await glob(absolute));
    // As Python's glob with the base directory as cwd: a relative pattern gives relative paths.
    const files = path.isAbsolute(pattern)
      ? found
      : found.map((file) => path.relative(ctx.basedir, file) || '.');
    sendFiles(ctx, 'glob', files);
    ctx.send({ rc: 0 });
  };
});

export const listdirCommand = quickCommand('listdir', async (ctx) => {
  const { name, value: shown } = pathArg('ListDir', ctx.args, ['path', 'dir']);
  const dir = await realPathInside(ctx.basedir, name, shown, FOLLOW);
  return async () => {
    let listed: string[] | undefined;
    await osStep(ctx, 'listdir', shown, 'errno', async () => {
      listed = await readdir(dir);
    });
    if (listed === undefined) return;
    // Outside osStep, which makes OS errors an errno: an oversized list is a finish_error.
    sendFiles(ctx, 'listdir', listed);
    ctx.send({ rc: 0 });
  };
});

export const rmfileCommand = quickCommand('rmfile', async (ctx) => {
  const { name, value: shown } = pathArg('RemoveFile', ctx.args);
  // unlink removes a link itself, never what it points to.
  const file = await realPathInside(ctx.basedir, name, shown, ON_THE_LINK);
  return async () => {
    if (await osStep(ctx, 'rmfile', shown, 'errno', () => unlink(file))) ctx.send({ rc: 0 });
  };
});
