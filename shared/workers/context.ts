// Owns what the worker registry needs from its surroundings: the table, the worker queues' settings, the clock.
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The registry's part of a context (shared/commands/context.ts builds the whole one, which the command
 * lifecycle uses too): the registry never needs the completions queue, and so never imports commands code.
 */
export interface WorkersContext {
  db: DynamoDBDocumentClient;
  sqs: SQSClient;
  /** The commands table, where worker records live beside command records. */
  tableName: string;
  /** Worker queues are named `${workerQueuePrefix}${name}`. */
  workerQueuePrefix: string;
  deadLetterQueueArn: string;
  /** Milliseconds since the epoch. @default Date.now */
  now: () => number;
}
