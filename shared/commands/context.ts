// Owns the context of the command lifecycle and the worker registry (clients, names, clock), built from the environment.
import { dynamoDocumentClient, sqsClient } from '../aws/clients.ts';
import { ENV, requireEnv } from '../config.ts';
import type { WorkersContext } from '../workers/context.ts';

/**
 * What the command lifecycle and the worker registry need from their surroundings: clients, names, the
 * clock (the registry's part is WorkersContext). One object, built once per process from the environment
 * (or by a test with its own clock).
 */
export interface CommandsContext extends WorkersContext {
  completionsQueueUrl: string;
}

let fromEnv: CommandsContext | undefined;

export function commandsContextFromEnv(env: NodeJS.ProcessEnv = process.env): CommandsContext {
  fromEnv ??= {
    db: dynamoDocumentClient(),
    sqs: sqsClient(),
    tableName: requireEnv(ENV.commandsTable, env),
    completionsQueueUrl: requireEnv(ENV.completionsQueueUrl, env),
    workerQueuePrefix: requireEnv(ENV.workerQueuePrefix, env),
    deadLetterQueueArn: requireEnv(ENV.deadLetterQueueArn, env),
    now: Date.now,
  };
  return fromEnv;
}

/** Finished commands and their update items expire this long after they were written. @default 30 days */
export const RETENTION_SECONDS = 30 * 24 * 3600;

export function expiresAt(nowMs: number): number {
  return Math.floor(nowMs / 1000) + RETENTION_SECONDS;
}
