// The commands API's wire: request bodies, queries, answers and queue messages, each one schema whose type is inferred from it.
import * as v from 'valibot';
import { fields, integer, jsonValue, keyed, number, parse, text } from '../schema.ts';
import type { Infer } from '../schema.ts';
import * as LIMITS from '../limits.ts';
import { logObjectRef } from '../logs/wire.ts';
import { SECRET_NAME } from './secrets.ts';
import type {
  claimResponse,
  commandView,
  logLinksPage,
  updatesResponse,
  workerHeartbeatResponse,
} from './answers.ts';
import type { completionEvent, workerMessage } from './messages.ts';
import { commandStatus } from './wireValues.ts';

/**
 * Requests are strict (an unknown field is a 400, so a misspelled option is an error, not a silent
 * default). Answers and queue messages are open objects: a newer producer may add a field that an older
 * reader ignores. shared/openapi/ turns these same schemas into the OpenAPI document.
 */

/** Worker names become part of an SQS queue name (80 characters at most, with the service prefix). */
export const workerName = text({
  minLength: 1,
  maxLength: LIMITS.workerNameLength,
  pattern: /^[A-Za-z0-9_-]+$/,
});
export const commandName = text({
  minLength: 1,
  maxLength: LIMITS.commandNameLength,
  pattern: /^[A-Za-z0-9_.-]+$/,
});
/** Command ids are 32 hex digits (another id answers 404). */
export const commandId = text({ minLength: 32, maxLength: 32, pattern: /^[0-9a-f]{32}$/ });

/**
 * Buildbot's `logfiles` arg (shell) names the logs the worker will send as `{log: [name, text]}`: the names
 * the record may keep are bounded (LIMITS.logNamesPerCommand, logNameLength), so a command that declares
 * more is refused here rather than have its updates refused (413) while it runs.
 */
const logfilesFit = v.custom<unknown>((args) => {
  const logfiles = (args as { logfiles?: unknown } | null)?.logfiles;
  if (typeof logfiles !== 'object' || logfiles === null || Array.isArray(logfiles)) return true;
  const names = Object.keys(logfiles);
  return (
    names.length <= LIMITS.logNamesPerCommand && names.every((name) => name.length <= LIMITS.logNameLength)
  );
}, `declares more than ${LIMITS.logNamesPerCommand} logfiles, or a logfile name over ${LIMITS.logNameLength} characters`);

/** An rc as decimal text: an integer, no leading zeros or plus sign. */
const rcKey = text({ minLength: 1, maxLength: 11, pattern: /^-?(?:0|[1-9][0-9]{0,9})$/ });

export const startCommandRequest = fields({
  worker: workerName,
  command: commandName,
  args: v.pipe(jsonValue(LIMITS.jsonDepth), logfilesFit, keyed(v.unknown())),
  decodeRC: v.optional(keyed(integer(0, 6), { maxKeys: LIMITS.decodeRCKeys, key: rcKey })),
  timeouts: v.optional(
    fields({
      start: v.optional(number(LIMITS.timeoutMinSeconds, LIMITS.timeoutMaxSeconds)),
      heartbeat: v.optional(number(LIMITS.timeoutMinSeconds, LIMITS.timeoutMaxSeconds)),
    }),
  ),
  idempotencyKey: v.optional(text({ minLength: 1, maxLength: LIMITS.idempotencyKeyLength })),
  /** `{NAME: value}`: `%(secret:NAME)s` in args is filled in on the worker; values are never stored (secrets.ts). */
  secrets: v.optional(
    keyed(text({ minLength: 1, maxLength: LIMITS.secretValueLength }), {
      maxKeys: LIMITS.secretsPerCommand,
      key: text({ minLength: 1, maxLength: LIMITS.secretNameLength, pattern: SECRET_NAME }),
    }),
  ),
});
export type StartCommandRequest = Infer<typeof startCommandRequest>;

/** One update, Buildbot's remoteUpdate keys. Unknown keys are refused. */
export const commandUpdate = fields({
  stdout: v.optional(v.string()),
  stderr: v.optional(v.string()),
  header: v.optional(v.string()),
  log: v.optional(v.strictTuple([text({ minLength: 1, maxLength: LIMITS.logNameLength }), v.string()])),
  rc: v.optional(integer(-(2 ** 31), 2 ** 32)),
  elapsed: v.optional(number(0)),
  failure_reason: v.optional(text({ maxLength: LIMITS.failureReasonLength })),
  stat: v.optional(jsonValue(LIMITS.jsonDepth)),
  files: v.optional(jsonValue(LIMITS.jsonDepth)),
});
export type CommandUpdate = Infer<typeof commandUpdate>;

/** `[[update, seq], ...]`: seqs count from 0 for each command, with no gaps. */
const sequencedUpdates = v.pipe(
  v.array(v.strictTuple([commandUpdate, integer(0)])),
  v.maxLength(LIMITS.updatesPerBatch),
);

/** `object` (optional): the batch's first updates are a text run the worker put in S3 (shared/logs/wire.ts). */
export const updatesRequest = fields({ updates: sequencedUpdates, object: v.optional(logObjectRef) });
export type UpdatesRequest = Infer<typeof updatesRequest>;

/**
 * `updates` (optional) are the last updates, with the format and seq rules of POST .../updates: they are
 * stored before the command ends, so a short command needs no separate updates request.
 */
export const completeRequest = fields({
  lastSeq: integer(-1),
  updates: v.optional(sequencedUpdates),
  failure: v.optional(
    fields({
      kind: v.picklist(['start_error', 'finish_error']),
      message: text({ maxLength: LIMITS.failureMessageLength }),
    }),
  ),
});
export type CompleteRequest = Infer<typeof completeRequest>;

export const interruptRequest = fields({ why: v.optional(text({ maxLength: LIMITS.interruptWhyLength })) });

/**
 * The worker's claim (POST .../start, body optional). `claimToken` names this claim: a retried claim with the same
 * token, whose first answer was lost on the way, gets the same claim back instead of 409.
 */
export const claimRequest = fields({
  claimToken: v.optional(text({ minLength: 16, maxLength: 64, pattern: /^[A-Za-z0-9_-]+$/ })),
});
export type ClaimRequest = Infer<typeof claimRequest>;

export const registerWorkerRequest = fields({
  name: workerName,
  /** Replace the token of an existing worker (the old one stops working). */
  rotate: v.optional(v.boolean()),
});

const infoName = text({ minLength: 1, maxLength: LIMITS.workerInfoNameLength });
const infoValue = text({ maxLength: LIMITS.workerInfoValueLength });
const infoFiles = keyed(infoValue, { maxKeys: LIMITS.workerInfoFiles, key: infoName });

/**
 * Buildbot's getWorkerInfo, less the environment (it may hold secrets): shared/workers/types.ts WorkerInfo.
 * Bounded as a whole too, since it is stored (docs/worker.md, Worker info).
 */
const workerInfoFields = fields({
  system: text({ minLength: 1, maxLength: LIMITS.workerInfoNameLength }),
  platform: text({ minLength: 1, maxLength: LIMITS.workerInfoNameLength }),
  numcpus: integer(1),
  basedir: infoValue,
  version: text({ maxLength: LIMITS.workerVersionLength }),
  commandVersions: keyed(text({ maxLength: LIMITS.workerVersionLength }), {
    maxKeys: LIMITS.registeredCommands,
    key: commandName,
  }),
  files: infoFiles,
  osRelease: infoFiles,
});

const utf8 = new TextEncoder();

export const workerInfoReport = v.pipe(
  // First, as a custom schema: the OpenAPI document converts a pipe from its last schema (workerInfoFields) on.
  v.custom<unknown>(
    // UTF-8 bytes without Node's Buffer, so the web console can import these types (web/tsconfig.json has no
    // Node types). Run only on a heartbeat that carries info (the first, and when it changed): not a hot path.
    (info) => utf8.encode(JSON.stringify(info) ?? '').length <= LIMITS.workerInfoBytes,
    `info of at most ${LIMITS.workerInfoBytes} bytes of JSON`,
  ),
  workerInfoFields,
);

export const workerHeartbeatRequest = fields({
  commands: v.pipe(v.array(commandName), v.maxLength(LIMITS.registeredCommands)),
  concurrency: v.optional(integer(1, LIMITS.workerConcurrency)),
  running: v.optional(integer(0)),
  version: v.optional(text({ maxLength: LIMITS.workerVersionLength })),
  /** On the first heartbeat and when it changed; stored only when its hash differs from the stored one. */
  info: v.optional(workerInfoReport),
  /** Vend fresh queue credentials with the answer (shared/workers/credentials.ts). */
  credentials: v.optional(v.boolean()),
});
export type WorkerHeartbeatRequest = Infer<typeof workerHeartbeatRequest>;

/** GET /v1/commands?worker=&status=&limit=&cursor= (query strings arrive as text; `limit` is read as a number). */
export const listCommandsQuery = fields(
  {
    worker: workerName,
    status: v.optional(commandStatus),
    limit: v.optional(integer(1, LIMITS.listPageCommands)),
    cursor: v.optional(text({ minLength: 1, maxLength: LIMITS.listCursorLength })),
  },
  'query parameter',
);
export type ListCommandsQuery = Infer<typeof listCommandsQuery>;

/** `?after=SEQ` of the update and log reads: the seq already seen (-1, the default, reads from the start). */
export const afterQuery = v.object({ after: v.optional(integer(-1)) });

/** A query string's number as Number() reads it; text that is no number stays text, refused as such. */
function asNumber(raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isNaN(value) ? raw : value;
}

export function parseListCommandsQuery(query: Record<string, string | undefined>): ListCommandsQuery {
  const typed: Record<string, unknown> = { ...query };
  if (query.limit !== undefined) typed.limit = asNumber(query.limit);
  return parse(listCommandsQuery, typed);
}

/** Reads only `after`: the update and log reads ignore other query parameters. */
export function parseAfterQuery(query: Record<string, string | undefined>): number {
  return parse(afterQuery, { after: asNumber(query.after) }).after ?? -1;
}

/** GET .../logs/{name}: `after`, and `links=1` from a client that reads log objects through GET .../links. */
export const logQuery = v.object({ ...afterQuery.entries, links: v.optional(v.picklist(['1'])) });

export function parseLogQuery(query: Record<string, string | undefined>): { after: number; links: boolean } {
  const parsed = parse(logQuery, { after: asNumber(query.after), links: query.links });
  return { after: parsed.after ?? -1, links: parsed.links === '1' };
}

/** Answers and queue messages: their schemas live in answers.ts and messages.ts, apart from the functions that never read them. */
export type UpdatesResponse = Infer<typeof updatesResponse>;
export type WorkerHeartbeatResponse = Infer<typeof workerHeartbeatResponse>;
export type ClaimResponse = Infer<typeof claimResponse>;
export type CommandView = Infer<typeof commandView>;
export type LogLinksPage = Infer<typeof logLinksPage>;
export type WorkerMessage = Infer<typeof workerMessage>;
export type CompletionEvent = Infer<typeof completionEvent>;

/** Headers of GET /v1/commands/{id}/logs/{name}: how a client follows a log live (docs/commands.md). */
export const LOG_HEADERS = {
  /** Pass as `?after=` to read what came next. */
  nextSeq: 'x-bbs-next-seq',
  /** The command's status when this page was read. */
  status: 'x-bbs-command-status',
  /** 'true' once the command is complete and this page reached its last update: stop following. */
  complete: 'x-bbs-log-complete',
  /** 'links' (asked with `?links=1`): the page ended before a log object; read on from x-bbs-next-seq with GET .../links. */
  next: 'x-bbs-log-next',
} as const;
