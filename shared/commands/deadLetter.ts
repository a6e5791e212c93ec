// Owns the dead-letter consumer's decision: a dead-lettered command message ends its still-queued command as `undeliverable`.
import { logger } from '../observability.ts';
import { parseMessage } from '../schema.ts';
import { WORKER_QUEUE } from '../workers/types.ts';
import type { CommandsContext } from './context.ts';
import { endCommand } from './completions.ts';
import { CommandNotFoundError, isRecordFault } from './errors.ts';
import { asCommandItem, loadCommand } from './items.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import { workerMessage } from './messages.ts';

/**
 * A worker-queue message that SQS dead-lettered (received maxReceiveCount times, never deleted). A command
 * message ends its command as `undeliverable` if it is still queued; anything else is dropped with a log line.
 */
export type DeadLetterOutcome = 'ended' | 'alreadyMoved' | 'dropped' | 'recordUnusable';

export async function handleDeadLetter(ctx: CommandsContext, body: string): Promise<DeadLetterOutcome> {
  // Not JSON, or not a worker message (the worker's own schema): reported as dropped below.
  const message = parseMessage(workerMessage, body);
  if (message?.type !== 'command') {
    // Not the body: a command message carries its args, which may hold secrets.
    logger.warn('dropped a dead-lettered message that is not a command', {
      type: message?.type ?? null,
      bodyBytes: Buffer.byteLength(body),
    });
    return 'dropped';
  }
  let item;
  try {
    item = await loadCommand(ctx, message.commandId);
  } catch (error) {
    if (!(error instanceof CommandNotFoundError)) throw error;
    logger.warn('dead-lettered command is unknown', { commandId: message.commandId });
    return 'dropped';
  }
  try {
    // Decoded before any write: a malformed record is skipped, never half-ended.
    const command = asCommandItem({ ...item });
    if (command.status !== COMMAND_STATUS.queued) return 'alreadyMoved';
    const ended = await endCommand(ctx, command, COMMAND_STATUS.queued, {
      kind: FAILURE_KINDS.undeliverable,
      message: `the command message was received ${WORKER_QUEUE.maxReceiveCount} times without being claimed and went to the dead-letter queue`,
    });
    return ended ? 'ended' : 'alreadyMoved';
  } catch (error) {
    // No redelivery can mend the record: log it and let this message go, so that it does not come back
    // until its retention ends. Any other error (a throttle) is rethrown and SQS redelivers the message.
    if (!isRecordFault(error)) throw error;
    logger.error('dead-lettered command has a record that cannot be changed; dropped', {
      commandId: message.commandId,
      error,
    });
    return 'recordUnusable';
  }
}
