// Confines a command's paths to the worker's base directory: lexically (`..`), then by real path after symlinks.
import { readlink, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CommandStartError, PathEscapeError } from './errors.ts';

/**
 * Resolves a command's path argument inside the worker's base directory, lexically. Relative paths are taken
 * from `basedir` (as Buildbot joins them with the builder's basedir); absolute paths are accepted only when
 * they already lie inside it. `a/../b` is fine, `../x` or `/etc` is refused. realPathInside adds the symlinks.
 */
export function resolveInside(basedir: string, argName: string, requested: string): string {
  const resolved = path.resolve(basedir, requested);
  if (!isWithin(basedir, resolved)) throw new PathEscapeError(argName, requested, basedir);
  return resolved;
}

function isWithin(dir: string, candidate: string): boolean {
  const relative = path.relative(dir, candidate);
  return !(relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative));
}

export interface RealPathOptions {
  /**
   * Resolve the last component too (stat, listdir, mkdir, a workdir). False for commands that act on a link
   * itself (rmfile, rmdir remove the link, never what it points to): only its directory is resolved.
   */
  followLast: boolean;
}

/** The base directory after symlinks (it may itself be reached through one, as /tmp on macOS). */
export function realBasedir(basedir: string): Promise<string> {
  return realpath(basedir);
}

/** realpath of the deepest existing ancestor of `absolute`, with the missing rest joined to it. */
async function realpathOfExisting(absolute: string): Promise<string> {
  const missing: string[] = [];
  let current = absolute;
  for (;;) {
    try {
      return path.join(await realpath(current), ...missing);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not there (yet), or a file where a directory was named: the rest is joined as it is named.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || current === path.dirname(current)) throw error;
      missing.unshift(path.basename(current));
      current = path.dirname(current);
    }
  }
}

/**
 * The path a command should act on: `requested` resolved inside basedir lexically, then its real path (the
 * deepest existing ancestor through realpath, the missing rest joined), which must still lie inside basedir's
 * real path. A symlink inside basedir that stays inside keeps working; one that leads out (or to a device,
 * a FIFO, /proc ...) is refused with PathEscapeError, a start_error. The answer has no symlink left in its
 * existing part (the last component excepted when followLast is false), so the command acts on what was
 * checked. Residual: a component swapped for a symlink after this check and before the operation is followed
 * by that operation (Node has no openat); the commands narrow it where they can (rm -rf, O_NOFOLLOW, lstat).
 */
export async function realPathInside(
  basedir: string,
  argName: string,
  requested: string,
  opts: RealPathOptions,
): Promise<string> {
  const lexical = resolveInside(basedir, argName, requested);
  const realBase = await realBasedir(basedir);
  const keepLast = !opts.followLast && lexical !== basedir;
  let real: string;
  try {
    real = keepLast
      ? path.join(await realpathOfExisting(path.dirname(lexical)), path.basename(lexical))
      : await realpathOfExisting(lexical);
  } catch (error) {
    // A symlink loop (ELOOP), a directory we may not enter (EACCES): nothing safe to act on.
    throw new CommandStartError(`${argName} '${requested}' cannot be resolved: ${(error as Error).message}`, {
      cause: error,
      details: { arg: argName, path: requested },
    });
  }
  if (!isWithin(realBase, real)) throw new PathEscapeError(argName, requested, basedir, real);
  return real;
}

/**
 * Why an opened file is not inside basedir, or undefined when it is. Checked on the descriptor
 * (/proc/self/fd/N names what was opened, whatever the path's links did meanwhile), or by realpath of
 * `file` where there is no /proc.
 */
export async function openedOutside(
  handle: FileHandle,
  file: string,
  realBase: string,
): Promise<string | undefined> {
  const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(file));
  return isWithin(realBase, opened)
    ? undefined
    : `resolves to ${opened}, outside the worker's base directory`;
}
