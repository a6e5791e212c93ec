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

export const updatesRequest = object({
  updates: array(tuple(commandUpdate, integer({ min: 0 })), { maxItems: LIMITS.updatesPerBatch }),
});
export type UpdatesRequest = Infer<typeof updatesRequest>;

/** The answer to POST .../updates (and the body of its 409): every seq ≤ acked is stored. */
export interface UpdatesResponse {
  acked: number;
  /** Present once the command has been interrupted: the worker stops the process and completes. */
  interrupt?: { why: string };
}

export const completeRequest = object({
  lastSeq: integer({ min: -1 }),
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
