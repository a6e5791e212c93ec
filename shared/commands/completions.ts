// Owns ending a command (the ending write every ender shares) and announcing it on the completions queue, at least once.
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { countCommandEnded } from '../observability.ts';
import { pushCompletion } from '../push/fastPath.ts';
import type { CommandsContext } from './context.ts';
import { expiresAt } from './context.ts';
import { LEGACY_DUE_SHARD } from './keys.ts';
import { completionEvent, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { FAILURE_RESULTS } from './types.ts';
import type { CommandFailure, CommandStatus } from './types.ts';

/**
 * Ending a command and announcing it. The ending write marks the record `eventPending` and leaves it on
 * the dueByDeadline index; the event is sent; then the mark is cleared. A process that dies in between
 * leaves the mark, and the watchdog re-sends at the deadline: at least once, never lost.
 *
 * The clear removes the mark only, not `dueShard`/`deadline`: the index is KEYS_ONLY, so a write that
 * leaves its key attributes alone does not write the index (1 WRU instead of 2). The finished command's
 * entry stays on dueByDeadline until TTL; the watchdog reads it once, finds it settled and then passes it
 * with its cursor (watchdog.ts).
 */

/** The watchdog re-sends a completion event still marked pending this long (or more) after the ending. @default 10 s */
export const EVENT_RESEND_AFTER_MS = 10_000;

/**
 * The pending deadline an ending finds (the start deadline, for a short command) is kept as the time the
 * watchdog looks at the event when it comes no later than this: moving it is a delete and a put on the
 * index (2 WRU), keeping it is free. A deadline further out is moved to EVENT_RESEND_AFTER_MS ahead.
 * Either way the watchdog re-sends only once the ending is EVENT_RESEND_AFTER_MS old (watchdog.ts), so an
 * event is re-sent 10 to 60 s after its command ended, and never while its first send is under way.
 * @default 60 s
 */
export const EVENT_RESEND_KEPT_UNTIL_MS = 60_000;

/** The pending deadline of a command ending now whose current pending deadline is `readDeadline`. */
export function resendDeadline(now: number, readDeadline: number | undefined): number {
  if (readDeadline !== undefined && readDeadline <= now + EVENT_RESEND_KEPT_UNTIL_MS) return readDeadline;
  return now + EVENT_RESEND_AFTER_MS;
}

/**
 * The attributes every ending sets (SET clause and values). `readDeadline` is the deadline the caller read:
 * kept when resendDeadline() allows it, so that the ending costs no index write.
 */
export function endingUpdate(
  now: number,
  ending: { results: number; failure?: CommandFailure },
  readDeadline: number | undefined,
): { sets: string[]; values: Record<string, unknown> } {
  const sets = [
    '#status = :complete',
    'results = :results',
    'completedAt = :now',
    'expiresAt = :expiresAt',
    'eventPending = :true',
  ];
  const values: Record<string, unknown> = {
    ':complete': 'complete',
    ':results': ending.results,
    ':now': now,
    ':expiresAt': expiresAt(now),
    ':true': true,
  };
  const resendAt = resendDeadline(now, readDeadline);
  if (resendAt !== readDeadline) {
    // The entry moves within its shard: a record keeps the shard it was written with (keys.ts, dueShardOf),
    // so the watchdog's per-shard cursors hold. Only a record that lost `dueShard` (none does; a hand edit)
    // goes back on the index, on the legacy shard, which the watchdog always queries.
    sets.push('dueShard = if_not_exists(dueShard, :due)', 'deadline = :resendAt');
    values[':due'] = LEGACY_DUE_SHARD;
    values[':resendAt'] = resendAt;
  }
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
  const { sets, values } = endingUpdate(
    now,
    { results: FAILURE_RESULTS[failure.kind], failure },
    item.deadline,
  );
  // Race: the worker's claim/complete, a heartbeat, or another watchdog run act on the same command.
  //   reader: get (status S, deadline D) ........ update if status = S AND deadline = D
  //   other:            claim / heartbeat refresh / complete ✓ (changes status or deadline)
  // Whoever writes first wins; the other's condition fails and it leaves the command alone. A heartbeat
  // that refreshed the deadline in between therefore saves a running command from worker_lost.
  const outcome = await updateCommand(ctx, item.commandId, {
    update: `SET ${sets.join(', ')}`,
    condition: { statusAsRead: '#status = :expected', deadlineAsRead: 'deadline = :readDeadline' },
    values: { ...values, ':expected': expected, ':readDeadline': item.deadline ?? -1 },
  });
  if (!outcome.won) return undefined;
  countCommandEnded(outcome.item);
  // Subscribers hear of it first (shared/push/fastPath.ts; it never rejects), then the event goes out: see
  // complete.ts for why not both at once.
  await pushCompletion(outcome.item);
  await publishCompletion(ctx, outcome.item);
  return outcome.item;
}

/**
 * Sends the completion event, then clears the pending mark (at least once: a crash before the clear
 * re-sends). Once it returns, the mark is clear (by this call or another) and nothing re-sends the event.
 */
export async function publishCompletion(ctx: CommandsContext, item: CommandItem): Promise<void> {
  // No push here: the watchdog calls this to re-send a stale event, long after the ending was pushed. The
  // enders push where their ending write was won (endCommand above, complete.ts).
  await ctx.sqs.send(
    new SendMessageCommand({
      QueueUrl: ctx.completionsQueueUrl,
      MessageBody: JSON.stringify(completionEvent(item)),
    }),
  );
  // Race: the watchdog re-sends the same event while we clear. Both sends reach consumers (at least once);
  // both clears remove the same attribute, and the second finds it gone. Conditional on the mark so that a
  // record already cleared (or expired by TTL) is not recreated as a stub by UpdateItem.
  await updateCommand(ctx, item.commandId, {
    update: 'REMOVE eventPending',
    condition: { stillPending: 'eventPending = :true' },
    values: { ':true': true },
  });
}
