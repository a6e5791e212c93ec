// Owns the CLI's shared argument handling: connection options, defaults, usage errors.
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import * as ENV from '../shared/config.ts';
import { UsageError } from './errors.ts';
import { processExists } from '../shared/processes.ts';
import { readStackFile, stackFilePath } from './stackFile.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

/** The worker of `bbs run` and `bbs list` when neither --worker nor BBS_WORKER (ENV.worker) names one: npm start's. */
export const DEFAULT_WORKER = 'local';

/** The flags every subcommand that talks to the API takes. */
export const CONNECTION_OPTIONS = {
  'api-url': { type: 'string' },
  token: { type: 'string' },
} as const satisfies Options;

export interface Parsed<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { type: 'boolean' }
      ? boolean
      : O[K] extends { multiple: true }
        ? string[]
        : string;
  };
  positionals: string[];
}

/** node:util parseArgs, strict, with its errors turned into UsageError naming the subcommand. */
export function parse<O extends Options>(subcommand: string, argv: string[], options: O): Parsed<O> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    return { values: values as Parsed<O>['values'], positionals };
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
      throw new UsageError(`bbs ${subcommand}: ${error.message} (see bbs help ${subcommand})`, {
        cause: error,
      });
    throw error;
  }
}

export interface ConnectionSettings {
  apiUrl: string;
  token: string;
}

/**
 * --api-url / BBS_API_URL (ENV.apiUrl) and --token / BBS_TOKEN (ENV.token), flags first. The token is never printed.
 * With neither URL, the stack `npm start` runs on this machine, through the file it writes (stackFile.ts), with
 * its client token (or its admin token for `role: 'admin'`) unless a token is given.
 */
export function connectionFrom(
  values: { 'api-url'?: string; token?: string },
  env: NodeJS.ProcessEnv,
  role: 'client' | 'admin' = 'client',
): ConnectionSettings {
  const apiUrl = values['api-url'] ?? env[ENV.apiUrl];
  if (!apiUrl) return connectionFromStackFile(values, env, role);
  try {
    new URL(apiUrl);
  } catch {
    throw new UsageError(`--api-url / ${ENV.apiUrl} is not a URL: ${apiUrl}`);
  }
  const token = values.token ?? env[ENV.token];
  if (!token)
    throw new UsageError(`no token: pass --token or set ${ENV.token} (npm start prints a client token)`);
  return { apiUrl, token };
}

function connectionFromStackFile(
  values: { token?: string },
  env: NodeJS.ProcessEnv,
  role: 'client' | 'admin',
): ConnectionSettings {
  const path = stackFilePath(env);
  const file = readStackFile(path);
  if (file === undefined)
    throw new UsageError(
      `no API URL: run npm start in another shell (bbs then finds it through ${path}), or pass --api-url / set ${ENV.apiUrl}`,
    );
  // The npm start that wrote the file is gone (killed without its cleanup): the file is stale.
  if (!processExists(file.pid))
    throw new UsageError(
      `the local stack recorded in ${path} has stopped (its npm start, pid ${file.pid}, is gone): run npm start again, or set ${ENV.apiUrl}`,
    );
  const token = values.token ?? env[ENV.token] ?? (role === 'admin' ? file.adminToken : file.clientToken);
  return { apiUrl: file.apiUrl, token };
}

/**
 * The client of a subcommand. Its push socket is BBS_PUSH_URL (ENV.pushUrl) when set (on AWS the WebSocket API has
 * a URL of its own); unset, CommandsClient's default, the HTTP API's URL as ws(s):// with /v1/push, where the local
 * stack serves it.
 */
export function clientFrom(
  values: { 'api-url'?: string; token?: string },
  env: NodeJS.ProcessEnv,
): CommandsClient {
  const pushUrl = env[ENV.pushUrl];
  return new CommandsClient({ ...connectionFrom(values, env), ...(pushUrl ? { pushUrl } : {}) });
}

/** Exactly `names.length` positionals (trailing ones in `optional` may be left out). */
export function positionalsOf(
  subcommand: string,
  positionals: string[],
  names: string[],
  optional: string[] = [],
): string[] {
  const all = [...names, ...optional];
  if (positionals.length < names.length || positionals.length > all.length) {
    const usage = [...names.map((n) => n.toUpperCase()), ...optional.map((n) => `[${n.toUpperCase()}]`)];
    throw new UsageError(
      `usage: bbs ${subcommand} ${usage.join(' ')} (see bbs help ${subcommand.split(' ')[0]})`,
    );
  }
  return positionals;
}

export function integerOption(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min)
    throw new UsageError(`--${flag} takes a whole number of at least ${min}, got ${value}`);
  return number;
}

export function numberOption(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0)
    throw new UsageError(`--${flag} takes a positive number, got ${value}`);
  return number;
}
