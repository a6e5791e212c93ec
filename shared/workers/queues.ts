// Owns the worker queues' lifetime: created (or found) when a worker registers, deleted when it is removed.
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  QueueDeletedRecently,
  QueueDoesNotExist,
} from '@aws-sdk/client-sqs';
import { QueueDeletedRecentlyError } from './errors.ts';
import type { WorkersContext } from './context.ts';
import { workerQueueName } from './keys.ts';
import { WORKER_QUEUE } from './types.ts';

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
