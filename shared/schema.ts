// The wire's schema library (valibot): the building blocks every wire file uses, and the one step that turns a failed parse into ValidationError.
import * as v from 'valibot';
import { ValidationError } from './errors.ts';

/**
 * Why valibot: docs/openapi.md has the measurements (bundle bytes and cold import against zod/mini and the
 * hand-written schemas it replaced). The same schema objects validate requests and queue messages, give
 * the TypeScript types (`Infer`) and become the OpenAPI document (shared/openapi/).
 */
export type Schema = v.GenericSchema;
export type Infer<S extends Schema> = v.InferOutput<S>;

/** Keys that reach an object's prototype, never an own field of ours: refused wherever keys are free-form. */
const RESERVED_KEYS = ['__proto__', 'constructor', 'prototype'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const hasOwn = (value: object, key: string): boolean => Object.prototype.hasOwnProperty.call(value, key);

/** valibot's objects and records take arrays too (`[]` is an object to them): this refuses them first. */
const plainObject = v.custom<Record<string, unknown>>(isPlainObject, 'an object');

/**
 * An object with exactly these fields: unknown ones are refused, checked against the shape's own keys
 * (`constructor` and `__proto__` are unknown fields like any other), and the output holds only the
 * shape's fields. `noun` names a field in messages ("field", "query parameter").
 */
export function fields<E extends v.ObjectEntries>(entries: E, noun = 'field') {
  const known = Object.keys(entries).join(', ') || 'no fields';
  return v.pipe(
    plainObject,
    v.strictObject(entries, (issue) =>
      issue.expected === 'never' ? `unknown ${noun} (expected ${known})` : 'required',
    ),
  );
}

/**
 * An object with free-form keys (at most `maxKeys`, each matching `key` when given) whose values match
 * `value`; prototype keys are refused.
 */
export function keyed<S extends Schema>(
  value: S,
  opts: { maxKeys?: number; key?: v.GenericSchema<string> } = {},
) {
  const freeKeys = v.pipe(
    plainObject,
    v.custom<Record<string, unknown>>(
      (input) => !RESERVED_KEYS.some((key) => hasOwn(input as object, key)),
      `an object without the keys ${RESERVED_KEYS.join(', ')}`,
    ),
    v.record(opts.key ?? v.string(), value),
  );
  return opts.maxKeys === undefined ? freeKeys : v.pipe(freeKeys, v.maxEntries(opts.maxKeys));
}

/**
 * Why a JSON value is refused, or undefined when it is fine: nested deeper than `maxDepth` (objects and
 * arrays), or holding a prototype key at any depth. Iterative, so a value 100,000 deep costs no stack.
 */
function jsonValueFault(value: unknown, maxDepth: number): string | undefined {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: at, depth } = pending.pop()!;
    if (typeof at !== 'object' || at === null) continue;
    if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
    if (!Array.isArray(at)) {
      const reserved = RESERVED_KEYS.find((key) => hasOwn(at, key));
      if (reserved !== undefined) return `holds the key ${reserved}`;
    }
    for (const inner of Object.values(at)) pending.push({ value: inner, depth: depth + 1 });
  }
  return undefined;
}

/**
 * Any JSON value nested at most `maxDepth` levels (a scalar is 0, `{}` and `[]` are 1), with no prototype
 * key (`__proto__`, `constructor`, `prototype`) at any depth: free-form values (args, `stat`, `files`)
 * are stored and served again, and a reader must never meet a shape no check ever saw.
 */
export function jsonValue(maxDepth: number) {
  return v.pipe(
    v.custom<unknown>(
      (input) => jsonValueFault(input, maxDepth) === undefined,
      (issue) => jsonValueFault(issue.input, maxDepth) ?? 'a JSON value',
    ),
    v.unknown(),
  );
}

/** A whole number from `min` to `max` (both included). */
export function integer(min: number = Number.MIN_SAFE_INTEGER, max: number = Number.MAX_SAFE_INTEGER) {
  return v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
}

/** A number from `min`, up to `max` when given. */
export function number(min: number, max?: number) {
  return max === undefined
    ? v.pipe(v.number(), v.minValue(min))
    : v.pipe(v.number(), v.minValue(min), v.maxValue(max));
}

/** A string of `minLength` to `maxLength` characters, matching `pattern` when given. */
export function text(
  opts: { minLength?: number; maxLength?: number; pattern?: RegExp } = {},
): v.GenericSchema<string> {
  const { minLength = 0, maxLength, pattern } = opts;
  const checks: v.GenericPipeAction<string>[] = [];
  if (minLength > 0) checks.push(v.minLength(minLength));
  if (maxLength !== undefined) checks.push(v.maxLength(maxLength));
  if (pattern) checks.push(v.regex(pattern));
  return v.pipe(v.string(), ...checks);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

const EXPECTED_TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  Array: 'an array',
  Object: 'an object',
};

function lengthOf(value: unknown): number {
  return typeof value === 'string' || Array.isArray(value) ? value.length : Object.keys(value ?? {}).length;
}

/** What went wrong, without the path: the words our answers have always used, and the bound broken. */
function describe(issue: v.BaseIssue<unknown>, echo: boolean): { text: string; limit?: number } {
  const limit = typeof issue.requirement === 'number' ? issue.requirement : undefined;
  const got = typeName(issue.input);
  switch (issue.type) {
    case 'strict_object':
    case 'custom':
      // Our own messages (fields(), keyed(), jsonValue()); a plain-object check failing is a type mismatch.
      return {
        text:
          issue.message === 'required' ||
          /^(unknown|nested deeper|holds the key|declares)/.test(issue.message)
            ? issue.message
            : `expected ${issue.message}, got ${got}`,
      };
    case 'max_length':
      return {
        text:
          typeof issue.input === 'string' ? `longer than ${limit} characters` : `more than ${limit} items`,
        limit,
      };
    case 'min_length':
      return {
        text: `expected at least ${limit} ${typeof issue.input === 'string' ? 'characters' : 'items'}, got ${lengthOf(issue.input)}`,
        limit,
      };
    case 'max_entries':
      return { text: `more than ${limit} keys`, limit };
    case 'min_value':
    case 'max_value':
      return { text: `expected a number ${issue.expected}, got ${issue.received}`, limit };
    case 'integer':
      return { text: `expected an integer, got ${issue.received}` };
    case 'regex':
      return {
        text: `expected a string matching ${String(issue.requirement)}${echo ? `, got ${shown(issue.input)}` : ''}`,
      };
    case 'picklist':
      return { text: `expected one of ${issue.expected}${echo ? `, got ${shown(issue.input)}` : ''}` };
    default:
      if (issue.expected === 'never') return { text: 'unexpected item' };
      return { text: `expected ${EXPECTED_TYPES[issue.expected ?? ''] ?? issue.expected}, got ${got}` };
  }
}

/** Characters of a refused value an answer quotes back (ECHO_CHARACTERS), so a message stays one short line. @default 40 */
const ECHO_CHARACTERS = 40;

/** A refused value as the answer quotes it: JSON, its first ECHO_CHARACTERS characters. */
function shown(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > ECHO_CHARACTERS ? `${json.slice(0, ECHO_CHARACTERS)}…` : json;
}

/**
 * Whether a refusal at `path` may quote the value: never under `secrets` (a secret's value must not come back
 * in an answer or a log line), nor for a token.
 */
function mayEcho(path: string): boolean {
  return !/^(secrets\b|.*token)/i.test(path);
}

/** `args.command`, `updates[3][0].stdout`: the path as the caller wrote it, under `root` (a parameter's name). */
function pathOf(issue: v.BaseIssue<unknown>, root: string): string {
  let path = root;
  for (const item of issue.path ?? []) {
    const key = item.key as string | number;
    path += typeof key === 'number' ? `[${key}]` : path === '' ? key : `.${key}`;
  }
  return path;
}

/**
 * Parses `value` with `schema`: the typed output (a new value holding only what the schema knows), or
 * ValidationError naming the path and what was expected (`details: {path, limit?}`). Stops at the first
 * issue, as the answer names one. `path` prefixes the path (a path or query parameter's name).
 */
export function parse<S extends Schema>(schema: S, value: unknown, path = ''): Infer<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  const where = pathOf(issue, path) || 'body';
  const { text, limit } = describe(issue, mayEcho(where));
  throw new ValidationError(`${where}: ${text}`, {
    details: limit === undefined ? { path: where } : { path: where, limit },
  });
}

/** Like parse, but undefined instead of an error: for queue messages, which are logged and dropped. */
export function tryParse<S extends Schema>(schema: S, value: unknown): Infer<S> | undefined {
  const result = v.safeParse(schema, value, { abortEarly: true });
  return result.success ? result.output : undefined;
}

/** A queue message body: JSON text parsed with `schema`, or undefined when it is not JSON or does not match. */
export function parseMessage<S extends Schema>(schema: S, body: string | undefined): Infer<S> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  return tryParse(schema, value);
}
