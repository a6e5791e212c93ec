// Buildbot's file-system worker commands: mkdir, rmdir, cpdir, stat, glob, listdir, rmfile.
import { chmod, cp, lstat, mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { CommandFinishError, CommandStartError } from '../errors.ts';
import { resolveInside } from '../paths.ts';
import { requireArgs, stringArg, stringListArg } from './args.ts';
import { glob } from './glob.ts';
import { errnoOf, isSystemError, strerror } from './osError.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from './types.ts';

/**
 * Buildbot's file-system worker commands (commands/fs.py). Paths are relative to the worker's base
 * directory (or absolute inside it). Each ends with {rc: 0}, or on an OS error with a header
 * "<command>: <strerror>: <path>" and rc = errno, as Buildbot sends them; rmdir and cpdir, which
 * Buildbot runs as `rm -rf` / `cp -R`, end with rc 1 like those programs.
 */

/**
 * Largest JSON of one `{files}` update (glob, listdir). A stored update must fit one DynamoDB item (400 KB with the
 * other updates of its batch), so a larger list ends the command as `finish_error` naming this limit, where it used
 * to end as `worker_lost` (RETRY, retried for ever by a master). Documented in docs/worker.md. @default 256 KiB
 */
export const FILES_MAX_BYTES = 256 * 1024;

/** Sends the `{files}` update, or throws CommandFinishError when it is over FILES_MAX_BYTES. */
function sendFiles(ctx: CommandContext, command: string, files: string[]): void {
  const bytes = Buffer.byteLength(JSON.stringify(files));
  if (bytes > FILES_MAX_BYTES)
    throw new CommandFinishError(
      `${command}: ${files.length} paths are ${bytes} bytes as JSON, over the limit of ${FILES_MAX_BYTES} bytes for one files update (FILES_MAX_BYTES); narrow the pattern or the directory`,
      { details: { paths: files.length, bytes, limit: FILES_MAX_BYTES } },
    );
  ctx.send({ files });
}

/** The work of a quick command, made by checking its args (a throw there is a start_error). */
type Work = () => Promise<void>;

function quickCommand(name: string, prepare: (ctx: CommandContext) => Work): WorkerCommand {
  return {
    name,
    async start(ctx): Promise<StartedCommand> {
      const work = prepare(ctx);
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

export const mkdirCommand = quickCommand('mkdir', (ctx) => {
  requireArgs('MakeDirectory', ctx.args, ['paths']);
  const paths = stringListArg('MakeDirectory', ctx.args, 'paths').map(
    (p) => [p, resolveInside(ctx.basedir, 'paths', p)] as const,
  );
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

/** Gives the owner rwx on everything under `target`, so a retried rm can enter read-only directories. */
async function makeWritable(target: string): Promise<void> {
  await chmod(target, 0o700).catch(() => undefined);
  const info = await lstat(target).catch(() => undefined);
  if (!info?.isDirectory()) return;
  for (const entry of await readdir(target).catch(() => [] as string[]))
    await makeWritable(path.join(target, entry));
}

export const rmdirCommand = quickCommand('rmdir', (ctx) => {
  requireArgs('RemoveDirectory', ctx.args, ['paths']);
  const paths = stringListArg('RemoveDirectory', ctx.args, 'paths').map((p) => {
    const resolved = resolveInside(ctx.basedir, 'paths', p);
    if (resolved === ctx.basedir)
      throw new CommandStartError(`RemoveDirectory: refusing to remove the worker's base directory ('${p}')`);
    return [p, resolved] as const;
  });
  return async () => {
    let rc = 0;
    for (const [shown, target] of paths) {
      // As Buildbot's rm -rf then chmod -Rf u+rwx then rm -rf again.
      const removed = await rm(target, { recursive: true, force: true }).then(
        () => true,
        async () => {
          await makeWritable(target);
          return false;
        },
      );
      if (removed) continue;
      try {
        await rm(target, { recursive: true, force: true });
      } catch (error) {
        if (!isSystemError(error)) throw error;
        ctx.send({ header: `rmdir: ${strerror(error)}: ${shown}\n` });
        // Buildbot removes the rest and reports the failure at the end.
        rc = 1;
      }
    }
    ctx.send({ rc });
  };
});

export const cpdirCommand = quickCommand('cpdir', (ctx) => {
  requireArgs('CopyDirectory', ctx.args, ['fromdir', 'todir']);
  const fromShown = stringArg('CopyDirectory', ctx.args, 'fromdir');
  const from = resolveInside(ctx.basedir, 'fromdir', fromShown);
  const to = resolveInside(ctx.basedir, 'todir', stringArg('CopyDirectory', ctx.args, 'todir'));
  return async () => {
    const copied = await osStep(ctx, 'cpdir', fromShown, 1, async () => {
      await stat(from);
      await mkdir(path.dirname(to), { recursive: true });
      await cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, force: true });
    });
    if (copied) ctx.send({ rc: 0 });
  };
});

export const statCommand = quickCommand('stat', (ctx) => {
  requireArgs('StatFile', ctx.args, ['path']);
  const shown = stringArg('StatFile', ctx.args, 'path');
  const file = resolveInside(ctx.basedir, 'path', shown);
  return async () => {
    await osStep(ctx, 'stat', shown, 'errno', async () => {
      const s = await stat(file);
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

export const globCommand = quickCommand('glob', (ctx) => {
  requireArgs('GlobPath', ctx.args, ['path']);
  const pattern = stringArg('GlobPath', ctx.args, 'path');
  const absolute = resolveInside(ctx.basedir, 'path', pattern);
  return async () => {
    const found = await glob(absolute);
    // As Python's glob with the base directory as cwd: a relative pattern gives relative paths.
    const files = path.isAbsolute(pattern)
      ? found
      : found.map((file) => path.relative(ctx.basedir, file) || '.');
    sendFiles(ctx, 'glob', files);
    ctx.send({ rc: 0 });
  };
});

export const listdirCommand = quickCommand('listdir', (ctx) => {
  requireArgs('ListDir', ctx.args, ['path']);
  const shown = stringArg('ListDir', ctx.args, 'path');
  const dir = resolveInside(ctx.basedir, 'path', shown);
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

export const rmfileCommand = quickCommand('rmfile', (ctx) => {
  requireArgs('RemoveFile', ctx.args, ['path']);
  const shown = stringArg('RemoveFile', ctx.args, 'path');
  const file = resolveInside(ctx.basedir, 'path', shown);
  return async () => {
    if (await osStep(ctx, 'rmfile', shown, 'errno', () => unlink(file))) ctx.send({ rc: 0 });
  };
});
