// Owns the worker queues' lifetime: created (or found) when a worker registers, deleted when it is removed.
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  QueueDeletedRecently,
  QueueDoesNotExist,
} from '@aws-sdk/client-sqs';
import { ValidationError } from '../errors.ts';
import * as LIMITS from '../limits.ts';
import { QueueDeletedRecentlyError } from './errors.ts';
import type { WorkersContext } from './context.ts';
import { workerQueueName } from './keys.ts';
import { WORKER_QUEUE } from './types.ts';

/** SQS's longest queue name. @default 80 */
export const QUEUE_NAME_LENGTH = 80;

/**
 * The longest worker name this stage can register: LIMITS.workerNameLength, or less where the stage's queue
 * prefix (`<service>-<stage>-worker-`, 31 characters for stage dev) leaves less of the queue name's 80.
 */
export function workerNameMax(ctx: WorkersContext): number {
  return Math.min(LIMITS.workerNameLength, QUEUE_NAME_LENGTH - ctx.workerQueuePrefix.length);
}

/** Throws ValidationError (400, naming the longest name allowed) when the worker's queue name would be too long. */
export function checkWorkerNameFits(ctx: WorkersContext, name: string): void {
  const max = workerNameMax(ctx);
  if (workerQueueName(ctx, name).length > QUEUE_NAME_LENGTH || name.length > max)
    throw new ValidationError(
      `name: ${name.length} characters; this stage allows worker names of at most ${max}, as its queue name ` +
        `${ctx.workerQueuePrefix}<name> may have at most ${QUEUE_NAME_LENGTH} characters`,
      { details: { path: 'name', limit: max } },
    );
}

/** How long SQS keeps a deleted queue's name from a new queue (QueueDeletedRecently). @default 60 s */
export const QUEUE_NAME_REUSE_SECONDS = 60;

/**
 * Creates (or finds: CreateQueue is idempotent for equal attributes) the worker's queue. A name whose queue was
 * deleted within the last minute is QueueDeletedRecentlyError (409, Retry-After), not a 500.
 */
export async function createWorkerQueue(ctx: WorkersContext, name: string): Promise<string> {
  try {
    return await createQueue(ctx, name);
  } catch (error) {
    if (error instanceof QueueDeletedRecently)
      throw new QueueDeletedRecentlyError(name, {
        cause: error,
        retryAfterSeconds: QUEUE_NAME_REUSE_SECONDS,
      });
    throw error;
  }
}

async function createQueue(ctx: WorkersContext, name: string): Promise<string> {
  const { QueueUrl } = await ctx.sqs.send(
    new CreateQueueCommand({
      QueueName: workerQueueName(ctx, name),
      Attributes: {
        VisibilityTimeout: String(WORKER_QUEUE.visibilityTimeoutSeconds),
        ReceiveMessageWaitTimeSeconds: String(WORKER_QUEUE.receiveWaitSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: ctx.deadLetterQueueArn,
          maxReceiveCount: WORKER_QUEUE.maxReceiveCount,
        }),
      },
    }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue for worker ${name} returned no QueueUrl`);
  return QueueUrl;
}

/** Deletes the worker's queue; a queue that is already gone is fine. */
export async function deleteWorkerQueue(ctx: WorkersContext, queueUrl: string): Promise<void> {
  try {
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
}
