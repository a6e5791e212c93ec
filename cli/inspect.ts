// `bbs status`, `bbs logs`, `bbs list`, `bbs interrupt`: reading and steering commands.
import * as ENV from '../shared/config.ts';
import { COMMAND_STATUS, RESULT_NAMES } from '../shared/commands/types.ts';
import type { CommandStatus } from '../shared/commands/types.ts';
import type { CommandView } from '../shared/commands/wire.ts';
import {
  CONNECTION_OPTIONS,
  DEFAULT_WORKER,
  clientFrom,
  integerOption,
  parse,
  positionalsOf,
} from './args.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import type { Io } from './io.ts';

/** `bbs status [--json] ID` */
export async function statusCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('status', argv, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
  const [commandId] = positionalsOf('status', positionals, ['id']);
  const view = await clientFrom(values, io.env).getCommand(commandId!);
  await io.writeOut(values.json ? `${JSON.stringify(view, null, 2)}\n` : describeCommand(view));
  return EXIT.ok;
}

/** `bbs logs [-f] ID [NAME]`: NAME defaults to stdio (stdout, stderr and headers). */
export async function logsCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('logs', argv, {
    ...CONNECTION_OPTIONS,
    follow: { type: 'boolean', short: 'f' },
  });
  const [commandId, name = 'stdio'] = positionalsOf('logs', positionals, ['id'], ['name']);
  const api = clientFrom(values, io.env);
  if (!values.follow) {
    // Piece by piece as read (log objects straight from S3): a large log is never held whole. Each piece is
    // whole updates' text, so none splits a character.
    for await (const bytes of api.readLogBytes(commandId!, name)) await io.writeOut(bytes.toString('utf8'));
    return EXIT.ok;
  }
  const stop = new AbortController();
  const removeHandler = io.onInterrupt(() => stop.abort(new UsageError('stopped following')));
  try {
    for await (const chunk of api.followLog(commandId!, name, { signal: stop.signal }))
      await io.writeOut(chunk);
  } catch (error) {
    // Ctrl-C only stops this reader; the command runs on (use bbs interrupt to stop it).
    if (stop.signal.aborted) return EXIT.cancelled;
    throw error;
  } finally {
    removeHandler();
  }
  return EXIT.ok;
}

/** `bbs interrupt ID [WHY]` */
export async function interruptCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('interrupt', argv, CONNECTION_OPTIONS);
  const [commandId, why = 'interrupted with bbs interrupt'] = positionalsOf(
    'interrupt',
    positionals,
    ['id'],
    ['why'],
  );
  const outcome = await clientFrom(values, io.env).interrupt(commandId!, why);
  if (!outcome.interrupted) {
    await io.writeOut(
      `command ${commandId} had already finished; nothing to interrupt (bbs status ${commandId})\n`,
    );
    return EXIT.ok;
  }
  await io.writeOut(
    outcome.status === 'running'
      ? `interrupting ${commandId}: its worker stops it within a second or two (bbs status ${commandId})\n`
      : `command ${commandId} is interrupted (CANCELLED)\n`,
  );
  return EXIT.ok;
}

/** `bbs list [--worker W] [--status S] [--limit N] [--cursor C] [--json]`: one page of a worker's commands. */
export async function listCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('list', argv, {
    ...CONNECTION_OPTIONS,
    worker: { type: 'string', short: 'w' },
    status: { type: 'string', short: 's' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  });
  positionalsOf('list', positionals, []);
  const status = values.status;
  if (status !== undefined && !isStatus(status))
    throw new UsageError(`--status takes one of ${Object.keys(COMMAND_STATUS).join(', ')}, got ${status}`);
  const worker = values.worker ?? io.env[ENV.worker] ?? DEFAULT_WORKER;
  const limit = integerOption('limit', values.limit, 1);
  const page = await clientFrom(values, io.env).listCommands({
    worker,
    status,
    limit,
    cursor: values.cursor,
  });
  if (values.json) {
    await io.writeOut(`${JSON.stringify(page, null, 2)}\n`);
    return EXIT.ok;
  }
  await io.writeOut(listTable(page.commands));
  if (page.next) await io.writeErr(`more: bbs list --worker ${worker} --cursor ${page.next}\n`);
  return EXIT.ok;
}

function listTable(commands: CommandView[]): string {
  const rows = commands.map((view) => [
    view.commandId,
    view.status,
    view.results === undefined ? '-' : RESULT_NAMES[view.results],
    view.rc === undefined ? '-' : String(view.rc),
    view.worker,
    commandLine(view),
    view.createdAt,
  ]);
  return table([['ID', 'STATUS', 'RESULTS', 'RC', 'WORKER', 'COMMAND', 'CREATED'], ...rows]);
}

/** Characters of the COMMAND column of bbs list, so that a row fits a terminal. @default 40 */
const COMMAND_COLUMN = 40;

/**
 * What the command runs, for a table: a shell command's line (argv words joined, an obfuscated word shown
 * as its `shown` form, as Buildbot's worker logs it), another command's name, cut to COMMAND_COLUMN.
 */
export function commandLine(view: CommandView): string {
  const line = view.command === 'shell' ? shellLine(view.args.command) : undefined;
  const text = (line ?? view.command).replace(/\s+/g, ' ');
  return text.length > COMMAND_COLUMN ? `${text.slice(0, COMMAND_COLUMN - 1)}…` : text;
}

function shellLine(command: unknown): string | undefined {
  if (typeof command === 'string') return command;
  if (!Array.isArray(command)) return undefined;
  return command
    .map((word: unknown) =>
      Array.isArray(word) && word[0] === 'obfuscated' ? String(word[2]) : shellWord(String(word)),
    )
    .join(' ');
}

function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function isStatus(value: string): value is CommandStatus {
  return Object.hasOwn(COMMAND_STATUS, value);
}

function describeCommand(view: CommandView): string {
  const lines: [string, string | undefined][] = [
    ['id', view.commandId],
    ['worker', view.worker],
    ['command', `${view.command} ${JSON.stringify(view.args)}`],
    ['status', view.status],
    ['results', view.results === undefined ? undefined : RESULT_NAMES[view.results]],
    ['rc', view.rc === undefined ? undefined : String(view.rc)],
    ['failure', view.failure ? `${view.failure.kind}: ${view.failure.message}` : undefined],
    ['reason', view.failure_reason],
    ['interrupted', view.interrupted ? `${view.interrupted.at}: ${view.interrupted.why}` : undefined],
    ['created', view.createdAt],
    ['started', view.startedAt],
    ['completed', view.completedAt],
    ['elapsed', view.elapsed === undefined ? undefined : `${view.elapsed} s`],
    ['updates', String(view.acked + 1)],
  ];
  return table(lines.filter((line): line is [string, string] => line[1] !== undefined));
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return (
    rows
      .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '))
      .join('\n') + '\n'
  );
}
