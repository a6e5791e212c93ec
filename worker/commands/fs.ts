// Buildbot's file-system worker commands: mkdir, rmdir, cpdir, stat, glob, listdir, rmfile.
import { execFile } from 'node:child_process';
import { cp, lstat, mkdir, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as LIMITS from '../../shared/limits.ts';
import { CommandFinishError, CommandStartError } from '../errors.ts';
import { realBasedir, realPathInside, resolveInside } from '../paths.ts';
import { requireArgs, stringArg, stringListArg } from './args.ts';
import { glob } from './glob.ts';
import { errnoOf, isSystemError, strerror } from './osError.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from './types.ts';

/**
 * Buildbot's file-system worker commands (commands/fs.py). Paths are relative to the worker's base
 * directory (or absolute inside it). Each ends with {rc: 0}, or on an OS error with a header
 * "<command>: <strerror>: <path>" and rc = errno, as Buildbot sends them; rmdir and cpdir, which
 * Buildbot runs as `rm -rf` / `cp -R`, end with rc 1 like those programs.
 *
 * Every path is confined by real path (realPathInside): a symlink inside basedir that leads out is refused
 * as a start_error. rmfile and rmdir act on a link itself, never on what it points to.
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
  requireArgs('MakeDirectory', ctx.args, ['paths']);
  const paths: [string, string][] = [];
  for (const p of stringListArg('MakeDirectory', ctx.args, 'paths'))
    paths.push([p, await realPathInside(ctx.basedir, 'paths', p, FOLLOW)]);
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

const run = promisify(execFile);

/**
 * `rm -rf` as Buildbot runs it. Not Node's fs.rm: it lstats an entry and then reads it as a directory by
 * name, so a directory swapped for a symlink in between has what the link points to deleted. GNU and BSD rm
 * walk with fts (openat, O_NOFOLLOW, device and inode checked), which a swap cannot lead out.
 */
async function removeTree(target: string): Promise<string | undefined> {
  try {
    await run('rm', ['-rf', '--', target]);
    return undefined;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    return stderr.trim() || (error as Error).message;
  }
}

/**
 * Gives the owner rwx on everything under `target`, so a retried rm can enter read-only directories, as
 * Buildbot's `chmod -Rf u+rwx`. chmod -R neither follows nor changes symlinks met on its walk; the top is
 * lstat'ed first and left alone when it is a link (chmod follows a link it is given by name).
 * Residual: a top swapped for a link between the lstat and chmod's own look at it.
 */
async function makeWritable(target: string): Promise<void> {
  const info = await lstat(target).catch(() => undefined);
  if (!info?.isDirectory()) return;
  await run('chmod', ['-Rf', 'u+rwx', '--', target]).catch(() => undefined);
}

export const rmdirCommand = quickCommand('rmdir', async (ctx) => {
  requireArgs('RemoveDirectory', ctx.args, ['paths']);
  const realBase = await realBasedir(ctx.basedir);
  const paths: [string, string][] = [];
  for (const p of stringListArg('RemoveDirectory', ctx.args, 'paths')) {
    const resolved = await realPathInside(ctx.basedir, 'paths', p, ON_THE_LINK);
    if (resolved === realBase)
      throw new CommandStartError(`RemoveDirectory: refusing to remove the worker's base directory ('${p}')`);
    paths.push([p, resolved]);
  }
  return async () => {
    let rc = 0;
    for (const [shown, target] of paths) {
      // As Buildbot's rm -rf then chmod -Rf u+rwx then rm -rf again.
      if ((await removeTree(target)) === undefined) continue;
      await makeWritable(target);
      const failed = await removeTree(target);
      if (failed === undefined) continue;
      ctx.send({ header: `rmdir: ${failed}: ${shown}\n` });
      // Buildbot removes the rest and reports the failure at the end.
      rc = 1;
    }
    ctx.send({ rc });
  };
});

export const cpdirCommand = quickCommand('cpdir', async (ctx) => {
  requireArgs('CopyDirectory', ctx.args, ['fromdir', 'todir']);
  const fromShown = stringArg('CopyDirectory', ctx.args, 'fromdir');
  const from = await realPathInside(ctx.basedir, 'fromdir', fromShown, FOLLOW);
  const todir = stringArg('CopyDirectory', ctx.args, 'todir');
  const to = await realPathInside(ctx.basedir, 'todir', todir, FOLLOW);
  return async () => {
    const copied = await osStep(ctx, 'cpdir', fromShown, 1, async () => {
      await stat(from);
      await mkdir(path.dirname(to), { recursive: true });
      // Links inside the tree are copied as links, never followed.
      await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: true });
    });
    if (copied) ctx.send({ rc: 0 });
  };
});

export const statCommand = quickCommand('stat', async (ctx) => {
  requireArgs('StatFile', ctx.args, ['path']);
  const shown = stringArg('StatFile', ctx.args, 'path');
  const file = await realPathInside(ctx.basedir, 'path', shown, FOLLOW);
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
  requireArgs('GlobPath', ctx.args, ['path']);
  const pattern = stringArg('GlobPath', ctx.args, 'path');
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
  requireArgs('ListDir', ctx.args, ['path']);
  const shown = stringArg('ListDir', ctx.args, 'path');
  const dir = await realPathInside(ctx.basedir, 'path', shown, FOLLOW);
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
  requireArgs('RemoveFile', ctx.args, ['path']);
  const shown = stringArg('RemoveFile', ctx.args, 'path');
  // unlink removes a link itself, never what it points to.
  const file = await realPathInside(ctx.basedir, 'path', shown, ON_THE_LINK);
  return async () => {
    if (await osStep(ctx, 'rmfile', shown, 'errno', () => unlink(file))) ctx.send({ rc: 0 });
  };
});
