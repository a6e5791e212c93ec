// Argument checks for worker commands, worded as Buildbot's worker words them.
import { CommandStartError } from '../errors.ts';

/**
 * Argument checks for worker commands, worded as Buildbot's worker words them
 * ("WorkerShellCommand is missing args: workdir, command"). Each failure is a CommandStartError,
 * which the worker turns into a `start_error`.
 */
export type CommandArgs = Record<string, unknown>;

export function requireArgs(className: string, args: CommandArgs, required: readonly string[]): void {
  const missing = required.filter((name) => args[name] === undefined || args[name] === null);
  if (missing.length > 0)
    throw new CommandStartError(`${className} is missing args: ${missing.join(', ')}`, {
      details: { missing },
    });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

function wrongType(className: string, name: string, expected: string, value: unknown): never {
  throw new CommandStartError(`${className}: '${name}' must be ${expected}, got ${describe(value)}`, {
    details: { arg: name },
  });
}

export function stringArg(className: string, args: CommandArgs, name: string): string {
  const value = args[name];
  if (typeof value !== 'string') wrongType(className, name, 'a string', value);
  return value;
}

export function optionalNumberArg(className: string, args: CommandArgs, name: string): number | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    wrongType(className, name, 'a number of zero or more', value);
  return value;
}

export function optionalBooleanArg(
  className: string,
  args: CommandArgs,
  name: string,
  defaultValue: boolean,
): boolean {
  const value = args[name];
  if (value === undefined || value === null) return defaultValue;
  if (typeof value !== 'boolean') wrongType(className, name, 'true or false', value);
  return value;
}

export function optionalStringArg(className: string, args: CommandArgs, name: string): string | undefined {
  const value = args[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') wrongType(className, name, 'a string', value);
  return value;
}

export function stringListArg(className: string, args: CommandArgs, name: string): string[] {
  const value = args[name];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    wrongType(className, name, 'a list of strings', value);
  return value as string[];
}
