// The commands API's wire: request bodies, queries, answers and queue messages, each one schema whose type is inferred from it.
import * as v from 'valibot';
import { fields, integer, keyed, number, parse, text } from '../schema.ts';
import type { Infer } from '../schema.ts';
import { COMMAND_STATUS, FAILURE_KINDS, RESULTS } from './types.ts';

/**
 * Requests are strict (an unknown field is a 400, so a misspelled option is an error, not a silent
 * default). Answers and queue messages are open objects: a newer producer may add a field that an older
 * reader ignores. shared/openapi/ turns these same schemas into the OpenAPI document.
 */

/** Worker names become part of an SQS queue name (80 characters at most, with the service prefix). */
export const workerName = text({ minLength: 1, maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ });
export const commandName = text({ minLength: 1, maxLength: 64, pattern: /^[A-Za-z0-9_.-]+$/ });
/** Command ids are 32 hex digits (another id answers 404). */
export const commandId = text({ minLength: 32, maxLength: 32, pattern: /^[0-9a-f]{32}$/ });

/** Limits that the edge enforces; documented in docs/limits.md. */
export const LIMITS = {
  /** JSON size of a command's args (it travels in one SQS message). */
  argsBytes: 64 * 1024,
  /** Updates in one POST .../updates. */
  updatesPerBatch: 10_000,
  /** Idempotency keys, in characters. */
  idempotencyKeyLength: 128,
  /** Commands a worker may register. */
  registeredCommands: 100,
} as const;

const commandStatus = v.picklist(Object.values(COMMAND_STATUS));
const results = v.picklist(Object.values(RESULTS));
const isoTime = v.string();

export const commandFailure = v.object({
  kind: v.picklist(Object.values(FAILURE_KINDS)),
  message: v.string(),
});

export const startCommandRequest = fields({
  worker: workerName,
  command: commandName,
  args: keyed(v.unknown()),
  decodeRC: v.optional(keyed(integer(0, 6), { maxKeys: 256 })),
  timeouts: v.optional(
    fields({
      start: v.optional(number(1, 86_400)),
      heartbeat: v.optional(number(1, 86_400)),
    }),
  ),
  idempotencyKey: v.optional(text({ minLength: 1, maxLength: LIMITS.idempotencyKeyLength })),
});
export type StartCommandRequest = Infer<typeof startCommandRequest>;

/** The answer to POST /v1/commands (202). */
export const startCommandResponse = v.object({ commandId });

/** One update, Buildbot's remoteUpdate keys. Unknown keys are refused. */
export const commandUpdate = fields({
  stdout: v.optional(v.string()),
  stderr: v.optional(v.string()),
  header: v.optional(v.string()),
  log: v.optional(v.strictTuple([text({ minLength: 1, maxLength: 256 }), v.string()])),
  rc: v.optional(integer(-(2 ** 31), 2 ** 32)),
  elapsed: v.optional(number(0)),
  failure_reason: v.optional(text({ maxLength: 256 })),
  stat: v.optional(v.unknown()),
  files: v.optional(v.unknown()),
});
export type CommandUpdate = Infer<typeof commandUpdate>;

/** `[[update, seq], ...]`: seqs count from 0 for each command, with no gaps. */
const sequencedUpdates = v.pipe(
  v.array(v.strictTuple([commandUpdate, integer(0)])),
  v.maxLength(LIMITS.updatesPerBatch),
);

export const updatesRequest = fields({ updates: sequencedUpdates });
export type UpdatesRequest = Infer<typeof updatesRequest>;

/** The answer to POST .../updates (and the body of its 409): every seq ≤ acked is stored. */
export const updatesResponse = v.object({
  acked: integer(-1),
  /** Present once the command has been interrupted: the worker stops the process and completes. */
  interrupt: v.optional(v.object({ why: v.string() })),
});
export type UpdatesResponse = Infer<typeof updatesResponse>;

/**
 * `updates` (optional) are the last updates, with the format and seq rules of POST .../updates: they are
 * stored before the command ends, so a short command needs no separate updates request.
 */
export const completeRequest = fields({
  lastSeq: integer(-1),
  updates: v.optional(sequencedUpdates),
  failure: v.optional(
    fields({ kind: v.picklist(['start_error', 'finish_error']), message: text({ maxLength: 4096 }) }),
  ),
});
export type CompleteRequest = Infer<typeof completeRequest>;

/** The answer to POST .../complete: how the command ended (the same on a repeated call). */
export const completeResponse = v.object({
  commandId,
  status: v.literal(COMMAND_STATUS.complete),
  results,
  rc: v.nullable(integer()),
  failure: v.nullable(commandFailure),
});

export const interruptRequest = fields({ why: v.optional(text({ maxLength: 1024 })) });

/** The answer to POST .../interrupt; `interrupted` is false when the command had finished first. */
export const interruptResponse = v.object({ commandId, status: commandStatus, interrupted: v.boolean() });

export const registerWorkerRequest = fields({
  name: workerName,
  /** Replace the token of an existing worker (the old one stops working). */
  rotate: v.optional(v.boolean()),
});

export const workerHeartbeatRequest = fields({
  commands: v.pipe(v.array(commandName), v.maxLength(LIMITS.registeredCommands)),
  concurrency: v.optional(integer(1, 1024)),
  running: v.optional(integer(0)),
  version: v.optional(text({ maxLength: 64 })),
});
export type WorkerHeartbeatRequest = Infer<typeof workerHeartbeatRequest>;

export const workerHeartbeatResponse = v.object({
  queueUrl: v.string(),
  /** How often the worker should call heartbeat while idle, in milliseconds. */
  heartbeatIntervalMs: integer(1),
});
export type WorkerHeartbeatResponse = Infer<typeof workerHeartbeatResponse>;

/** What a worker's SQS queue carries: a command to claim and run, or an interrupt of one it runs. */
export const workerMessage = v.variant('type', [
  v.object({
    type: v.literal('command'),
    commandId: text({ minLength: 1 }),
    command: v.string(),
    args: keyed(v.unknown()),
    /** Seconds of silence after which the command is worker_lost: heartbeat well within it. */
    heartbeatTimeout: v.number(),
  }),
  v.object({
    type: v.literal('interrupt'),
    commandId: text({ minLength: 1 }),
    why: v.optional(v.string(), ''),
  }),
]);
export type WorkerMessage = Infer<typeof workerMessage>;

/** The answer to a worker's claim (POST .../start). */
export const claimResponse = v.object({
  commandId,
  command: v.string(),
  args: v.record(v.string(), v.unknown()),
  heartbeatTimeout: v.number(),
});
export type ClaimResponse = Infer<typeof claimResponse>;

/** A command as GET /v1/commands/{id} shows it. */
export const commandView = v.object({
  commandId,
  worker: v.string(),
  command: v.string(),
  args: v.record(v.string(), v.unknown()),
  status: commandStatus,
  decodeRC: v.record(v.string(), v.number()),
  createdAt: isoTime,
  startedAt: v.optional(isoTime),
  completedAt: v.optional(isoTime),
  /** Highest contiguous update seq stored; -1 before any. */
  acked: integer(-1),
  rc: v.optional(v.number()),
  elapsed: v.optional(v.number()),
  failure_reason: v.optional(v.string()),
  results: v.optional(results),
  failure: v.optional(commandFailure),
  interrupted: v.optional(v.object({ why: v.string(), at: isoTime })),
});
export type CommandView = Infer<typeof commandView>;

/** GET /v1/commands: a page of a worker's commands, newest first; `next` is the cursor of the next page. */
export const commandList = v.object({ commands: v.array(commandView), next: v.optional(v.string()) });

/** GET /v1/commands/{id}/updates: acknowledged updates after `after`; `next` (as `after`) reads on. */
export const updatesPage = v.object({
  updates: v.array(v.strictTuple([commandUpdate, integer(0)])),
  acked: integer(-1),
  status: commandStatus,
  next: v.optional(integer(-1)),
});

/** One message per finished command on the completions queue, at least once. */
export const completionEvent = v.object({
  commandId: text({ minLength: 1 }),
  worker: v.string(),
  command: v.string(),
  status: v.literal(COMMAND_STATUS.complete),
  results,
  rc: v.nullable(v.number()),
  failure: v.nullable(commandFailure),
  startedAt: v.nullable(isoTime),
  completedAt: isoTime,
});
export type CompletionEvent = Infer<typeof completionEvent>;

/** GET /v1/commands?worker=&status=&limit=&cursor= (query strings arrive as text; `limit` is read as a number). */
export const listCommandsQuery = fields(
  {
    worker: workerName,
    status: v.optional(commandStatus),
    limit: v.optional(integer(1, 100)),
    cursor: v.optional(text({ minLength: 1, maxLength: 2048 })),
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

/** Headers of GET /v1/commands/{id}/logs/{name}: how a client follows a log live (docs/commands.md). */
export const LOG_HEADERS = {
  /** Pass as `?after=` to read what came next. */
  nextSeq: 'x-bbs-next-seq',
  /** The command's status when this page was read. */
  status: 'x-bbs-command-status',
  /** 'true' once the command is complete and this page reached its last update: stop following. */
  complete: 'x-bbs-log-complete',
} as const;
