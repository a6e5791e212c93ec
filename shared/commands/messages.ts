// What the commands' queues carry, as schemas: read with parseMessage() by the worker, the DLQ consumer and the completions consumer.
import * as v from 'valibot';
import { keyed, text } from '../schema.ts';
import { COMMAND_STATUS } from './types.ts';
import { commandFailure, isoTime, results } from './wireValues.ts';

/** What a worker's SQS queue carries: a command to claim and run, or an interrupt of one it runs. */
export const workerMessage = v.variant('type', [
  v.object({
    type: v.literal('command'),
    commandId: text({ minLength: 1 }),
    command: v.string(),
    args: keyed(v.unknown()),
    /** Seconds of silence after which the command is worker_lost: heartbeat well within it. */
    heartbeatTimeout: v.number(),
    /** The values of the secrets the command was started with: here only, never on the record (secrets.ts). */
    secrets: v.optional(v.record(v.string(), v.string())),
  }),
  v.object({
    type: v.literal('interrupt'),
    commandId: text({ minLength: 1 }),
    why: v.optional(v.string(), ''),
  }),
]);

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
