// `bbs`: dispatches a subcommand and turns every error into one line on stderr and an exit status.
import { readFile } from 'node:fs/promises';
import * as ENV from '../shared/config.ts';
import { ApiError, ApiUnreachableError } from '../shared/client/errors.ts';
import { RemoteCommandFailedError } from '../shared/client/errors.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import { readStackFile, stackFilePath } from './stackFile.ts';
import { cpCommand } from './cp.ts';
import { HELP } from './help.ts';
import { interruptCommand, listCommand, logsCommand, statusCommand } from './inspect.ts';
import type { Io } from './io.ts';
import { runCommand } from './run.ts';
import { stateCommand } from './state.ts';
import { workerCommand } from './worker.ts';
import { workersCommand } from './workers.ts';

type Subcommand = (argv: string[], io: Io) => Promise<number>;

const SUBCOMMANDS: Record<string, Subcommand> = {
  run: runCommand,
  cp: cpCommand,
  status: statusCommand,
  logs: logsCommand,
  interrupt: interruptCommand,
  list: listCommand,
  state: stateCommand,
  worker: workerCommand,
  workers: workersCommand,
  help: helpCommand,
  version: versionCommand,
};

/** `bbs SUBCOMMAND ...`: returns the exit status (docs/cli.md); every error becomes one line on stderr. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') return helpCommand([], io);
  if (name === '--version' || name === '-V') return versionCommand([], io);
  const subcommand = SUBCOMMANDS[name];
  try {
    if (!subcommand) throw new UsageError(`unknown subcommand '${name}'; bbs help lists them`);
    const dashes = rest.indexOf('--');
    const flags = dashes === -1 ? rest : rest.slice(0, dashes);
    if (flags.includes('--help') || flags.includes('-h')) return await helpCommand([name], io);
    return await subcommand(rest, io);
  } catch (error) {
    await io.writeErr(`bbs: ${describeError(error, io.env)}\n`);
    return error instanceof UsageError ? EXIT.usage : EXIT.unavailable;
  }
}

async function helpCommand(argv: string[], io: Io): Promise<number> {
  const [topic = 'bbs'] = argv;
  const text = HELP[topic];
  if (text === undefined) throw new UsageError(`no help for '${topic}'; bbs help lists the subcommands`);
  await io.writeOut(`${text}\n`);
  return EXIT.ok;
}

/** `bbs version` / `bbs --version`: this clone's package version and the Node that runs it. */
async function versionCommand(_argv: string[], io: Io): Promise<number> {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    name: string;
    version: string;
  };
  await io.writeOut(`bbs ${pkg.version} (${pkg.name}, node ${process.versions.node})\n`);
  return EXIT.ok;
}

/**
 * The API's refusal, with the hint for its code (docs/errors.md) and the code itself to look up there.
 * An answer without a code (API Gateway's own, a proxy's) is read by its status.
 */
function describeApiError(error: ApiError): string {
  const code = error.apiCode ?? (error.status === 401 ? 'unauthorized' : undefined);
  const hint = code === undefined ? undefined : API_HINTS[code];
  const said = code === undefined ? error.message : `${error.message} [${code}]`;
  return hint === undefined ? said : `${said} (${hint})`;
}

/** What to do next, for the codes a person at a terminal can act on (docs/errors.md has every code). */
const API_HINTS: Record<string, string> = {
  unauthorized: `check --token / ${ENV.token}`,
  forbidden: "this token's role may not do that",
  worker_not_found: `check --worker / ${ENV.worker}; npm start runs one named local`,
  idempotency_key_reused: 'use a new idempotency key for a different command',
};

function sameOrigin(origin: string, url: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** One line a person can act on: what failed and what to do next. */
function describeError(error: unknown, env: NodeJS.ProcessEnv): string {
  if (error instanceof UsageError || error instanceof RemoteCommandFailedError) return error.message;
  if (error instanceof ApiError) return describeApiError(error);
  if (error instanceof ApiUnreachableError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    const recorded = readStackFile(stackFilePath(env));
    // The local stack is to blame only when it was the one asked (not a URL from --api-url or BBS_API_URL).
    if (recorded && sameOrigin(error.origin, recorded.apiUrl))
      return `cannot reach the local stack at ${recorded.apiUrl}${cause}, which npm start recorded in ${stackFilePath(env)}: run npm start again, or set ${ENV.apiUrl}`;
    return `cannot reach the API${cause} (is it running? check --api-url / ${ENV.apiUrl})`;
  }
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
