// The shell command's pure helpers: argv and environment as Buildbot shows them, Python-like reprs.
import { createHash } from 'node:crypto';
import { CommandStartError } from '../errors.ts';

/**
 * Pure helpers of the shell command, kept apart so they can be tested without a process: the argv as
 * Buildbot displays it, the environment as Buildbot builds it, and Python-like reprs for its headers.
 */

/** An argv item Buildbot hides in logs: ['obfuscated', real, fake]. */
export type ArgvItem = string | ['obfuscated', string, string];

export interface ShellArgv {
  /** What runs. */
  real: string[];
  /** What the headers show. */
  fake: string[];
  /** The header line: the string command as given, or the argv quoted for a shell. */
  display: string;
}

const SHELL_SAFE = /^[\w@%+=:,./-]+$/;

/** Python's shlex.quote, with '' quoted as "" (as Buildbot's shell_quote does). */
export function shellQuote(word: string): string {
  if (word === '') return '""';
  if (SHELL_SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** A Python-like repr, for the headers Buildbot writes with str(dict) and str(list). */
export function pyRepr(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (value === null || value === undefined) return 'None';
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object')
    return `{${Object.entries(value)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  return String(value);
}

function isObfuscated(item: unknown): item is ['obfuscated', string, string] {
  return (
    Array.isArray(item) &&
    item.length === 3 &&
    item[0] === 'obfuscated' &&
    typeof item[1] === 'string' &&
    typeof item[2] === 'string'
  );
}

/** A string runs under /bin/sh -c; a list runs as it is. */
export function shellArgv(command: unknown): ShellArgv {
  if (typeof command === 'string') {
    if (command === '') throw new CommandStartError("WorkerShellCommand: 'command' is empty");
    return { real: ['/bin/sh', '-c', command], fake: ['/bin/sh', '-c', command], display: command };
  }
  if (!Array.isArray(command) || command.length === 0)
    throw new CommandStartError(
      "WorkerShellCommand: 'command' must be a string or a non-empty list of strings",
    );
  const real: string[] = [];
  const fake: string[] = [];
  for (const [index, item] of command.entries()) {
    if (typeof item === 'string') {
      real.push(item);
      fake.push(item);
    } else if (isObfuscated(item)) {
      real.push(item[1]);
      fake.push(item[2]);
    } else {
      throw new CommandStartError(
        `WorkerShellCommand: 'command'[${index}] must be a string or ['obfuscated', real, fake]`,
      );
    }
  }
  return { real, fake, display: fake.map(shellQuote).join(' ') };
}

/**
 * Variables that are the agent's, never a command's: every BBS_* variable (BBS_WORKER_TOKEN, BBS_API_URL, any
 * token a test or an operator put beside them) and every AWS_* variable (keys, session tokens, profiles, web
 * identity files, container credential endpoints, region and endpoints: the agent's account, not the build's).
 * A command that needs AWS access gets it through its own `env` argument.
 */
const AGENT_ONLY = /^(BBS_|AWS_)/i;

/** The environment a command starts from: the worker's own without the agent's token and AWS credentials. */
export function commandBaseEnvironment(agentEnv: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(agentEnv)) if (!AGENT_ONLY.test(name)) out[name] = value;
  return out;
}

const SUBSTITUTION = /\$\{([0-9a-zA-Z_]*)\}/g;

/**
 * Buildbot's environment rules (runprocess.py): without `env` the worker's environment passes as it is
 * (`base` is commandBaseEnvironment's: the agent's secrets are gone before this sees them).
 * With it: a list value is joined with ':', PYTHONPATH gets ':${PYTHONPATH}' appended, `${NAME}` is
 * replaced by the worker's value of NAME ('' when unset), and a null value removes the variable.
 */
export function buildEnvironment(
  base: NodeJS.ProcessEnv,
  environ: Record<string, unknown> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (value !== undefined && !(environ && environ[key] === null)) out[key] = value;
  }
  if (!environ) return out;
  const substitute = (text: string): string =>
    text.replace(SUBSTITUTION, (_, name: string) => base[name] ?? '');
  for (const [key, raw] of Object.entries(environ)) {
    if (raw === null) continue;
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (Array.isArray(raw) && raw.every((part) => typeof part === 'string')) value = raw.join(':');
    else throw new CommandStartError(`'env' values must be strings or lists; key '${key}' is incorrect`);
    if (key === 'PYTHONPATH') value += ':${PYTHONPATH}';
    out[key] = substitute(value);
  }
  return out;
}

/** Names whose values the environment header hides (Buildbot shows all; we will not print credentials). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|SESSION|PRIVATE|API_?KEY/i;
/** Inherited variables the header always shows with their values: the ones that explain most build failures. */
const ALWAYS_SHOWN = new Set(['HOME', 'LANG', 'LC_ALL', 'LOGNAME', 'PATH', 'PWD', 'SHELL', 'TMPDIR', 'USER']);

function environmentLine(name: string, value: string): string {
  return `  ${name}=${SECRET_NAME.test(name) ? '<hidden>' : value}
`;
}

/**
 * The " environment:" header. Buildbot's worker lists every variable, which makes the header of a trivial
 * command 2-4 KB (stored twice over DynamoDB's 1 KB write unit) while nearly all of it is the worker's own
 * environment, the same for every command. So the header lists in full what this command changes (its `env`
 * argument: set, changed or unset, and PWD) and the variables in ALWAYS_SHOWN, and sums up the rest of the
 * inherited ones by count and a fingerprint, which tells two commands' environments apart (`env` run as a
 * command prints them all). Secret-looking values are hidden either way.
 */
export function environmentHeader(env: Record<string, string>, inherited: NodeJS.ProcessEnv): string {
  const lines: string[] = [];
  const unchanged: string[] = [];
  const names = new Set([
    ...Object.keys(env),
    ...Object.keys(inherited).filter((n) => inherited[n] !== undefined),
  ]);
  for (const name of [...names].sort()) {
    const value = env[name];
    if (value === undefined) lines.push(`  ${name} (unset)\n`);
    else if (value !== inherited[name] || ALWAYS_SHOWN.has(name)) lines.push(environmentLine(name, value));
    else unchanged.push(`${name}=${value}\n`);
  }
  if (unchanged.length > 0) {
    const fingerprint = createHash('sha256').update(unchanged.join('')).digest('hex').slice(0, 12);
    lines.push(
      `  (and ${unchanged.length} more, unchanged from the worker's environment; sha256 of their NAME=value lines ${fingerprint})\n`,
    );
  }
  return ` environment:\n${lines.join('')}`;
}

/** " in dir /x (timeout 5 secs) (maxTime 10 secs)" */
export function workdirHeader(workdir: string, timeout?: number, maxTime?: number): string {
  let line = ` in dir ${workdir}`;
  if (timeout) line += ` (timeout ${timeout} ${timeout === 1 ? 'sec' : 'secs'})`;
  if (maxTime) line += ` (maxTime ${maxTime} ${maxTime === 1 ? 'sec' : 'secs'})`;
  return `${line}\n`;
}

/** Line breaks as Buildbot counts them for max_lines. */
export function countLines(text: string): number {
  return text.match(/\r\n|\r|\n/g)?.length ?? 0;
}
