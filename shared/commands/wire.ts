/**
 * The wire: request bodies, responses and queue messages of the commands API, defined once and used
 * by the functions, the worker and the client. Schemas validate at the edge; types are inferred from them.
 */
import {
  array,
  boolean,
  integer,
  literal,
  number,
  object,
  optional,
  record,
  string,
  tuple,
  unknownValue,
} from '../validation.ts';
import type { Infer } from '../validation.ts';
import { ValidationError } from '../errors.ts';
import type { CommandFailure, CommandStatus, Results } from './types.ts';

/** Worker names become part of an SQS queue name (80 characters at most, with the service prefix). */
export const workerName = string({ minLength: 1, maxLength: 40, pattern: /^[A-Za-z0-9_-]+$/ });
export const commandName = string({ minLength: 1, maxLength: 64, pattern: /^[A-Za-z0-9_.-]+$/ });

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

export const startCommandRequest = object({
  worker: workerName,
  command: commandName,
  args: record(unknownValue()),
  decodeRC: optional(record(integer({ min: 0, max: 6 }), { maxKeys: 256 })),
  timeouts: optional(
    object({
      start: optional(number({ min: 1, max: 86_400 })),
      heartbeat: optional(number({ min: 1, max: 86_400 })),
    }),
  ),
  idempotencyKey: optional(string({ minLength: 1, maxLength: LIMITS.idempotencyKeyLength })),
});
export type StartCommandRequest = Infer<typeof startCommandRequest>;

/** One update, Buildbot's remoteUpdate keys. Unknown keys are refused. */
export const commandUpdate = object({
  stdout: optional(string()),
  stderr: optional(string()),
  header: optional(string()),
  log: optional(tuple(string({ minLength: 1, maxLength: 256 }), string())),
  rc: optional(integer({ min: -(2 ** 31), max: 2 ** 32 })),
  elapsed: optional(number({ min: 0 })),
  failure_reason: optional(string({ maxLength: 256 })),
  stat: optional(unknownValue()),
  files: optional(unknownValue()),
});
export type CommandUpdate = Infer<typeof commandUpdate>;

/** `[[update, seq], ...]`: seqs count from 0 for each command, with no gaps. */
const sequencedUpdates = array(tuple(commandUpdate, integer({ min: 0 })), {
  maxItems: LIMITS.updatesPerBatch,
});

export const updatesRequest = object({ updates: sequencedUpdates });
export type UpdatesRequest = Infer<typeof updatesRequest>;

/** The answer to POST .../updates (and the body of its 409): every seq ≤ acked is stored. */
export interface UpdatesResponse {
  acked: number;
  /** Present once the command has been interrupted: the worker stops the process and completes. */
  interrupt?: { why: string };
}

/**
 * `updates` (optional) are the last updates, with the format and seq rules of POST .../updates: they are
 * stored before the command ends, so a short command needs no separate updates request.
 */
export const completeRequest = object({
  lastSeq: integer({ min: -1 }),
  updates: optional(sequencedUpdates),
  failure: optional(
    object({ kind: literal('start_error', 'finish_error'), message: string({ maxLength: 4096 }) }),
  ),
});
export type CompleteRequest = Infer<typeof completeRequest>;

export const interruptRequest = object({ why: optional(string({ maxLength: 1024 })) });

export const registerWorkerRequest = object({
  name: workerName,
  /** Replace the token of an existing worker (the old one stops working). */
  rotate: optional(boolean()),
});

export const workerHeartbeatRequest = object({
  commands: array(commandName, { maxItems: LIMITS.registeredCommands }),
  concurrency: optional(integer({ min: 1, max: 1024 })),
  running: optional(integer({ min: 0 })),
  version: optional(string({ maxLength: 64 })),
});
export type WorkerHeartbeatRequest = Infer<typeof workerHeartbeatRequest>;

export interface WorkerHeartbeatResponse {
  queueUrl: string;
  /** How often the worker should call heartbeat while idle, in milliseconds. */
  heartbeatIntervalMs: number;
}

/** What a worker's SQS queue carries. */
export type WorkerMessage =
  | {
      type: 'command';
      commandId: string;
      command: string;
      args: Record<string, unknown>;
      /** Seconds of silence after which the command is worker_lost: heartbeat well within it. */
      heartbeatTimeout: number;
    }
  | { type: 'interrupt'; commandId: string; why: string };

/** The answer to a worker's claim (POST .../start). */
export interface ClaimResponse {
  commandId: string;
  command: string;
  args: Record<string, unknown>;
  heartbeatTimeout: number;
}

/** A command as GET /v1/commands/{id} shows it. */
export interface CommandView {
  commandId: string;
  worker: string;
  command: string;
  args: Record<string, unknown>;
  status: CommandStatus;
  decodeRC: Record<string, number>;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  /** Highest contiguous update seq stored; -1 before any. */
  acked: number;
  rc?: number;
  elapsed?: number;
  failure_reason?: string;
  results?: Results;
  failure?: CommandFailure;
  interrupted?: { why: string; at: string };
}

/** One message per finished command on the completions queue, at least once. */
export interface CompletionEvent {
  commandId: string;
  worker: string;
  command: string;
  status: 'complete';
  results: Results;
  rc: number | null;
  failure: CommandFailure | null;
  startedAt: string | null;
  completedAt: string;
}

/** GET /v1/commands?worker=&status=&limit=&cursor= (query strings arrive as text). */
export interface ListCommandsQuery {
  worker: string;
  status?: CommandStatus;
  limit?: number;
  cursor?: string;
}

/** Query-string fields are text; this parses them with the same messages as the body schemas. */
export function parseListCommandsQuery(query: Record<string, string | undefined>): ListCommandsQuery {
  const known = new Set(['worker', 'status', 'limit', 'cursor']);
  for (const key of Object.keys(query))
    if (!known.has(key))
      throw new ValidationError(`${key}: unknown query parameter (expected worker, status, limit, cursor)`, {
        details: { path: key },
      });
  const parsed: ListCommandsQuery = { worker: workerName.parse(query.worker, 'worker') };
  if (query.status !== undefined)
    parsed.status = literal('queued', 'running', 'complete').parse(query.status, 'status');
  if (query.limit !== undefined)
    parsed.limit = integer({ min: 1, max: 100 }).parse(Number(query.limit), 'limit');
  if (query.cursor !== undefined)
    parsed.cursor = string({ minLength: 1, maxLength: 2048 }).parse(query.cursor, 'cursor');
  return parsed;
}

/** `?after=SEQ` of the update and log reads: the seq already seen (-1, the default, reads from the start). */
export function parseAfterQuery(query: Record<string, string | undefined>): number {
  if (query.after === undefined) return -1;
  return integer({ min: -1 }).parse(Number(query.after), 'after');
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
