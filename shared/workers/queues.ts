import {
  CreateQueueCommand,
  DeleteQueueCommand,
  QueueDoesNotExist,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { CommandsContext } from '../commands/context.ts';
import type { WorkerMessage } from '../commands/wire.ts';
import { WORKER_QUEUE } from './types.ts';

export function workerQueueName(ctx: CommandsContext, name: string): string {
  return `${ctx.workerQueuePrefix}${name}`;
}

/** Creates (or finds: CreateQueue is idempotent for equal attributes) the worker's queue. */
export async function createWorkerQueue(ctx: CommandsContext, name: string): Promise<string> {
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
export async function deleteWorkerQueue(ctx: CommandsContext, queueUrl: string): Promise<void> {
  try {
    await ctx.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  } catch (error) {
    if (!(error instanceof QueueDoesNotExist)) throw error;
  }
}

export async function sendWorkerMessage(
  ctx: CommandsContext,
  queueUrl: string,
  message: WorkerMessage,
): Promise<void> {
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
}
