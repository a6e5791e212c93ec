// Owns a command's secrets: `%(secret:NAME)s` in its args, found at the edge and filled in on the worker.
import { ValidationError } from '../errors.ts';

/**
 * `POST /v1/commands` takes `secrets: {NAME: value}`. The values go to the worker in the command's queue
 * message only (SQS keeps it encrypted at rest, and deletes it at the claim); the record keeps their names
 * (docs/security.md). Args name a secret as Buildbot's Interpolate does, `%(secret:NAME)s`, anywhere in a
 * string; the worker fills the values in (interpolateSecrets) and masks every value in all output as
 * `<NAME>` before it leaves the machine (worker/secretMasker.ts).
 */

/** A secret's name: letters, digits, `_ . -`, as Buildbot's secret providers name them. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const REFERENCE = /%\(secret:([^)]*)\)s/g;

/** Every string in a JSON value (object values and array items, at any depth; keys are not rendered). */
function* stringsOf(value: unknown): Generator<string> {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const at = pending.pop();
    if (typeof at === 'string') yield at;
    else if (Array.isArray(at)) pending.push(...(at as unknown[]));
    else if (at !== null && typeof at === 'object') pending.push(...Object.values(at));
  }
}

/** The names that `args` refers to with `%(secret:NAME)s`. */
export function secretNamesIn(args: unknown): Set<string> {
  const names = new Set<string>();
  for (const text of stringsOf(args)) for (const [, name] of text.matchAll(REFERENCE)) names.add(name!);
  return names;
}

/**
 * The edge's check: every secret the args name is given. Given secrets that the args never name are fine
 * (a command may print one: it is masked all the same). Answers the names to keep on the record, sorted.
 */
export function checkSecretReferences(args: unknown, secrets: Record<string, string> | undefined): string[] {
  const given = Object.keys(secrets ?? {});
  const missing = [...secretNamesIn(args)].filter((name) => !given.includes(name));
  if (missing.length > 0)
    throw new ValidationError(
      `args refer to ${missing.map((name) => `%(secret:${name})s`).join(', ')}, which secrets does not give`,
      { details: { path: 'args' } },
    );
  return given.sort();
}

/** `args` with each `%(secret:NAME)s` replaced by its value (the worker's side). Throws on a name not given. */
export function interpolateSecrets<T>(args: T, secrets: Readonly<Record<string, string>>): T {
  const fill = (text: string): string =>
    text.replace(REFERENCE, (_whole, name: string) => {
      if (!Object.hasOwn(secrets, name))
        throw new Error(`the command names secret ${name}, which it was not given`);
      return secrets[name]!;
    });
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return fill(value);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, walk(inner)]));
    return value;
  };
  return walk(args) as T;
}
