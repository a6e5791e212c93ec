import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CommandsContext } from './context.ts';
import { expiresAt } from './context.ts';
import { DUE_SHARD, commandKey } from './keys.ts';
import { completionEvent } from './items.ts';
import type { CommandItem } from './items.ts';
import { FAILURE_RESULTS } from './types.ts';
import type { CommandFailure, CommandStatus } from './types.ts';

/**
 * Ending a command and announcing it. The ending write marks the record `eventPending` with a deadline
 * EVENT_RESEND_AFTER_MS ahead; the event is sent; then the mark is cleared. A process that dies in
 * between leaves the mark, and the watchdog re-sends: at least once, never lost.
 */

/** The watchdog re-sends a completion event still marked pending this long after the ending. @default 10 s */
export const EVENT_RESEND_AFTER_MS = 10_000;

/** The attributes every ending sets (SET clause and values). */
export function endingUpdate(
  now: number,
  ending: { results: number; failure?: CommandFailure },
): { sets: string[]; values: Record<string, unknown> } {
  const sets = [
    '#status = :complete',
    'results = :results',
    'completedAt = :now',
    'expiresAt = :expiresAt',
    'eventPending = :true',
    'dueShard = :due',
    'deadline = :resendAt',
  ];
  const values: Record<string, unknown> = {
    ':complete': 'complete',
    ':results': ending.results,
    ':now': now,
    ':expiresAt': expiresAt(now),
    ':true': true,
    ':due': DUE_SHARD,
    ':resendAt': now + EVENT_RESEND_AFTER_MS,
  };
  if (ending.failure) {
    sets.push('failure = :failure');
    values[':failure'] = ending.failure;
  }
  return { sets, values };
}

/**
 * Ends a command that the caller read in `expected` status with `failure` (the watchdog, the DLQ consumer,
 * an interrupt of a queued command). Returns the ended item, or undefined when the race was lost.
 */
export async function endCommand(
  ctx: CommandsContext,
  item: CommandItem,
  expected: CommandStatus,
  failure: CommandFailure,
): Promise<CommandItem | undefined> {
  const now = ctx.now();
  const { sets, values } = endingUpdate(now, { results: FAILURE_RESULTS[failure.kind], failure });
  // Race: the worker's claim/complete, a heartbeat, or another watchdog run act on the same command.
  //   reader: get (status S, deadline D) ........ update if status = S AND deadline = D
  //   other:            claim / heartbeat refresh / complete ✓ (changes status or deadline)
  // Whoever writes first wins; the other's condition fails and it leaves the command alone. A heartbeat
  // that refreshed the deadline in between therefore saves a running command from worker_lost.
  try {
    const { Attributes } = await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: '#status = :expected AND deadline = :readDeadline',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ...values, ':expected': expected, ':readDeadline': item.deadline ?? -1 },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const ended = Attributes as CommandItem;
    await publishCompletion(ctx, ended);
    return ended;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined;
    throw error;
  }
}

/** Sends the completion event, then clears the pending mark (at least once: a crash before the clear re-sends). */
export async function publishCompletion(ctx: CommandsContext, item: CommandItem): Promise<void> {
  await ctx.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.completionsQueueUrl,
      MessageBody: JSON.stringify(completionEvent(item)),
    }),
  );
  // Race: the watchdog re-sends the same event while we clear. Both sends reach consumers (at least once);
  // both clears remove the same attributes. Conditional on the mark so that a record already cleared (or
  // expired by TTL) is not recreated as a stub by UpdateItem.
  try {
    await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: 'REMOVE eventPending, dueShard, deadline',
        ConditionExpression: 'eventPending = :true',
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}
