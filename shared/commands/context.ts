import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { dynamoDocumentClient, sqsClient } from '../aws/clients.ts';
import { ENV, requireEnv } from '../config.ts';

/**
 * What the command lifecycle and the worker registry need from their surroundings: clients, names, the
 * clock. One object, built once per process from the environment (or by a test with its own clock).
 */
export interface CommandsContext {
  db: DynamoDBDocumentClient;
  sqs: SQSClient;
  tableName: string;
  completionsQueueUrl: string;
  /** Worker queues are named `${workerQueuePrefix}${name}`. */
  workerQueuePrefix: string;
  deadLetterQueueArn: string;
  /** Milliseconds since the epoch. @default Date.now */
  now: () => number;
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
