// Owns the worker queues' lifetime: created (or found) when a worker registers, deleted when it is removed.
import { CreateQueueCommand, DeleteQueueCommand, QueueDoesNotExist } from '@aws-sdk/client-sqs';
import type { WorkersContext } from './context.ts';
import { WORKER_QUEUE } from './types.ts';

export function workerQueueName(ctx: WorkersContext, name: string): string {
  return `${ctx.workerQueuePrefix}${name}`;
}

/** Creates (or finds: CreateQueue is idempotent for equal attributes) the worker's queue. */
export async function createWorkerQueue(ctx: WorkersContext, name: string): Promise<string> {
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
