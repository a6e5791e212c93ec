// Owns the messages the API puts on a worker's queue: a command to run (dispatch) and an interrupt.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { CommandsContext } from './context.ts';
import { argsOf } from './items.ts';
import type { CommandItem } from './items.ts';
import type { WorkerMessage } from './wire.ts';

export async function sendWorkerMessage(
  ctx: CommandsContext,
  queueUrl: string,
  message: WorkerMessage,
): Promise<void> {
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
}

/**
 * Sends the command on `item` to the worker's queue, for its long poll to receive and claim, with the
 * values of its secrets (the request's: the record keeps only their names).
 */
export async function dispatch(
  ctx: CommandsContext,
  queueUrl: string,
  item: CommandItem,
  secrets?: Record<string, string>,
): Promise<void> {
  await sendWorkerMessage(ctx, queueUrl, {
    type: 'command',
    commandId: item.commandId,
    command: item.command,
    args: argsOf(item),
    heartbeatTimeout: item.heartbeatTimeoutMs / 1000,
    ...(secrets && Object.keys(secrets).length > 0 ? { secrets } : {}),
  });
}
