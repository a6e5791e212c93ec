// The file commands' path arguments under both of Buildbot's names (the master's steps', the worker protocol's), and `~`.
import { homedir } from 'node:os';
import path from 'node:path';
import { CommandStartError } from '../errors.ts';
import { stringArg, stringListArg } from './args.ts';
import type { CommandArgs } from './args.ts';

/**
 * Buildbot's master steps send `mkdir {dir}`, `rmdir {dir}`, `listdir {dir}`, `stat {file, workdir}` and
 * `cpdir {fromdir, todir}`; its worker protocol layer (master/buildbot/worker/protocols/msgpack.py
 * remoteStartCommand) rewrites them to the worker's own `paths`, `path` and `from_path`/`to_path` before
 * they reach a worker. We are both ends, so each file command takes either spelling (not both at once),
 * and a `~` at the start of a path is the agent's home directory, as msgpack.py's path_expanduser makes
 * it. Every path is then confined to the base directory like any other (fs.ts): `~` works only where
 * the home directory lies inside it.
 */

/** A path argument as given, and the name it was given under (error messages name it). */
export interface NamedPath {
  name: string;
  value: string;
}

/** `~` and `~/x` as the agent's home directory; `~user` is left as it is (the agent knows one user). */
export function expandUser(value: string): string {
  if (value === '~') return homedir();
  if (value.startsWith('~/')) return path.join(homedir(), value.slice(2));
  return value;
}

/** The one of `names` that args carries, or the start error that says which to give. */
function oneOf(className: string, args: CommandArgs, names: readonly string[]): string {
  const given = names.filter((name) => args[name] !== undefined && args[name] !== null);
  if (given.length === 1) return given[0]!;
  if (given.length === 0)
    throw new CommandStartError(`${className} is missing args: ${names.join(' or ')}`, {
      details: { missing: names },
    });
  throw new CommandStartError(`${className}: give one of ${given.join(', ')}, not both`, {
    details: { args: given },
  });
}

/** mkdir and rmdir: `paths` (a list), or `dir` (a string or a list, as the master's steps send it). */
export function pathListArg(className: string, args: CommandArgs): NamedPath[] {
  const name = oneOf(className, args, ['paths', 'dir']);
  const values =
    name === 'dir' && typeof args.dir === 'string' ? [args.dir] : stringListArg(className, args, name);
  return values.map((value) => ({ name, value: expandUser(value) }));
}

/** listdir: `path`, or `dir`. glob and rmfile: `path` only, as both Buildbots send it. */
export function pathArg(
  className: string,
  args: CommandArgs,
  names: readonly string[] = ['path'],
): NamedPath {
  const name = oneOf(className, args, names);
  return { name, value: expandUser(stringArg(className, args, name)) };
}

/** stat: `path`, or `file` relative to an optional `workdir` (the master's StatFile step). */
export function statPathArg(className: string, args: CommandArgs): NamedPath {
  const name = oneOf(className, args, ['path', 'file']);
  const value = expandUser(stringArg(className, args, name));
  if (name === 'path' || args.workdir === undefined || args.workdir === null) return { name, value };
  const workdir = expandUser(stringArg(className, args, 'workdir'));
  return { name, value: path.isAbsolute(value) ? value : path.join(workdir, value) };
}

/** cpdir: `from_path` and `to_path` (the worker's names), or `fromdir` and `todir` (the master's step). */
export function copyPathArgs(className: string, args: CommandArgs): { from: NamedPath; to: NamedPath } {
  const fromName = oneOf(className, args, ['from_path', 'fromdir']);
  const toName = oneOf(className, args, ['to_path', 'todir']);
  return {
    from: { name: fromName, value: expandUser(stringArg(className, args, fromName)) },
    to: { name: toName, value: expandUser(stringArg(className, args, toName)) },
  };
}
