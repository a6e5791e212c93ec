// Resolves a command's paths inside the worker's base directory (lexically), refusing `..` escapes.
import path from 'node:path';
import { PathEscapeError } from './errors.ts';

/**
 * Resolves a command's path argument inside the worker's base directory. Relative paths are taken from
 * `basedir` (as Buildbot joins them with the builder's basedir); absolute paths are accepted only when
 * they already lie inside it. `a/../b` is fine, `../x` or `/etc` is refused. The check is lexical:
 * a symlink inside basedir that points out of it is followed (documented in docs/worker.md).
 */
export function resolveInside(basedir: string, argName: string, requested: string): string {
  const resolved = path.resolve(basedir, requested);
  const relative = path.relative(basedir, resolved);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative))
    throw new PathEscapeError(argName, requested, basedir);
  return resolved;
}
