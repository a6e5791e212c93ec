import { ValidationError } from './errors.ts';

/**
 * A small schema language for the wire: each schema checks an unknown value and returns it typed, or
 * throws ValidationError naming the path and what was expected. Objects refuse unknown fields, so a
 * misspelled option is an error, not a silent default. Kept in-house because it is ~100 lines and a
 * general library would add tens of KB to every Lambda bundle.
 */
export interface Schema<T> {
  readonly description: string;
  parse(value: unknown, path?: string): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

function fail(path: string, expected: string, value: unknown): never {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ValidationError(`${path || 'body'}: expected ${expected}, got ${got}`, {
    details: { path: path || 'body' },
  });
}

export function string(
  opts: { minLength?: number; maxLength?: number; pattern?: RegExp } = {},
): Schema<string> {
  const { minLength = 0, maxLength = Infinity, pattern } = opts;
  const description = pattern ? `a string matching ${String(pattern)}` : 'a string';
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'string') fail(path, description, value);
      if (value.length < minLength) fail(path, `a string of at least ${minLength} characters`, value);
      if (value.length > maxLength)
        throw new ValidationError(`${path}: longer than ${maxLength} characters`, { details: { path } });
      if (pattern && !pattern.test(value)) fail(path, description, value);
      return value;
    },
  };
}

export function integer(opts: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  const description = `an integer from ${min} to ${max}`;
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
        fail(path, description, value);
      return value;
    },
  };
}

export function number(opts: { min?: number; max?: number } = {}): Schema<number> {
  const { min = -Infinity, max = Infinity } = opts;
  const description = `a number from ${min} to ${max}`;
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)
        fail(path, description, value);
      return value;
    },
  };
}

export function boolean(): Schema<boolean> {
  return {
    description: 'a boolean',
    parse(value, path = '') {
      if (typeof value !== 'boolean') fail(path, 'a boolean', value);
      return value;
    },
  };
}

/** Any JSON value; the caller checks its encoded size. */
export function unknownValue(): Schema<unknown> {
  return { description: 'any JSON value', parse: (value) => value };
}

export function literal<const T extends string>(...values: T[]): Schema<T> {
  const description = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'string' || !(values as string[]).includes(value)) fail(path, description, value);
      return value as T;
    },
  };
}

export function array<T>(item: Schema<T>, opts: { minItems?: number; maxItems?: number } = {}): Schema<T[]> {
  const { minItems = 0, maxItems = Infinity } = opts;
  const description = `an array of ${item.description}`;
  return {
    description,
    parse(value, path = '') {
      if (!Array.isArray(value)) fail(path, description, value);
      if (value.length < minItems) fail(path, `at least ${minItems} items`, value);
      if (value.length > maxItems)
        throw new ValidationError(`${path}: more than ${maxItems} items`, { details: { path } });
      return value.map((v, i) => item.parse(v, `${path}[${i}]`));
    },
  };
}

export function tuple<A, B>(a: Schema<A>, b: Schema<B>): Schema<[A, B]> {
  const description = `a pair [${a.description}, ${b.description}]`;
  return {
    description,
    parse(value, path = '') {
      if (!Array.isArray(value) || value.length !== 2) fail(path, description, value);
      return [a.parse(value[0], `${path}[0]`), b.parse(value[1], `${path}[1]`)];
    },
  };
}

export function union<A, B>(a: Schema<A>, b: Schema<B>): Schema<A | B> {
  const description = `${a.description} or ${b.description}`;
  return {
    description,
    parse(value, path = '') {
      for (const schema of [a, b] as Schema<A | B>[]) {
        try {
          return schema.parse(value, path);
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
        }
      }
      fail(path, description, value);
    },
  };
}

export function record<T>(
  valueSchema: Schema<T>,
  opts: { maxKeys?: number } = {},
): Schema<Record<string, T>> {
  const { maxKeys = Infinity } = opts;
  const description = `an object of ${valueSchema.description}`;
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, description, value);
      const entries = Object.entries(value);
      if (entries.length > maxKeys)
        throw new ValidationError(`${path}: more than ${maxKeys} keys`, { details: { path } });
      return Object.fromEntries(entries.map(([k, v]) => [k, valueSchema.parse(v, `${path}.${k}`)]));
    },
  };
}

type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never;
}[keyof S];
export type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};

export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

export function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return {
    optional: true,
    description: `${schema.description} (optional)`,
    parse: (value, path) => (value === undefined ? undefined : schema.parse(value, path)),
  };
}

export function object<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  const description = `an object with ${Object.keys(shape).join(', ') || 'no fields'}`;
  return {
    description,
    parse(value, path = '') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, description, value);
      const input = value as Record<string, unknown>;
      for (const key of Object.keys(input)) {
        if (!(key in shape))
          throw new ValidationError(
            `${path ? `${path}.` : ''}${key}: unknown field (expected ${Object.keys(shape).join(', ')})`,
            { details: { path: path ? `${path}.${key}` : key } },
          );
      }
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        const parsed = schema.parse(input[key], path ? `${path}.${key}` : key);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as ObjectOf<S>;
    },
  };
}
