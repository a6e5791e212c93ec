import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { NativeAttributeValue } from '@aws-sdk/util-dynamodb';
import { loadWorkerRecord, presenceOf } from '../workers/registry.ts';
import { PRESENCE } from '../workers/types.ts';
import type { WorkerItem } from '../workers/types.ts';
import type { CommandsContext } from './context.ts';
import { EVENT_RESEND_AFTER_MS, endCommand, publishCompletion } from './completions.ts';
import { DUE_INDEX, DUE_SHARD, commandKey } from './keys.ts';
import type { CommandItem } from './items.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import type { CommandFailure } from './types.ts';

/**
 * The scheduled watchdog: finds overdue commands through the sparse dueByDeadline index (access pattern 4,
 * a Query, never a Scan) and ends each with the right failure, or re-sends a completion event left pending.
 *
 * A deadline is moved as rarely as possible (each move is a delete and a put on the index): a claim keeps
 * the start deadline, so a running command found due may have been claimed recently. The watchdog reads
 * the record anyway; it ends the command only when the heartbeat timeout has passed since its claim, and
 * otherwise moves its deadline to that moment (once per command, and only for commands still running then).
 */

/** Bounds of one run: index pages of `pageSize` keys, at most `maxPages`; the next run picks up the rest. */
export const WATCHDOG_LIMITS = { pageSize: 100, maxPages: 10 } as const;

export interface WatchdogReport {
  examined: number;
  ended: Record<string, number>;
  resent: number;
  /** Running commands found due before a heartbeat timeout had passed since their claim: deadline moved. */
  extended: number;
}

export async function runWatchdog(ctx: CommandsContext): Promise<WatchdogReport> {
  const report: WatchdogReport = { examined: 0, ended: {}, resent: 0, extended: 0 };
  const workers = new Map<string, WorkerItem | undefined>();
  const now = ctx.now();
  let startKey: Record<string, NativeAttributeValue> | undefined;
  for (let page = 0; page < WATCHDOG_LIMITS.maxPages; page++) {
    const due = await ctx.db.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :due AND deadline <= :now',
        ExpressionAttributeValues: { ':due': DUE_SHARD, ':now': now },
        Limit: WATCHDOG_LIMITS.pageSize,
        ExclusiveStartKey: startKey,
      }),
    );
    const keys = (due.Items ?? []).map((key) => ({ pk: key.pk as string, sk: key.sk as string }));
    for (const item of await batchRead(ctx, keys)) {
      report.examined++;
      await settle(ctx, item, now, workers, report);
    }
    startKey = due.LastEvaluatedKey;
    if (!startKey) break;
  }
  return report;
}

async function batchRead(ctx: CommandsContext, keys: { pk: string; sk: string }[]): Promise<CommandItem[]> {
  const items: CommandItem[] = [];
  let pending: Record<string, NativeAttributeValue>[] = keys;
  // The index is eventually consistent; the record read here is the truth the condition then checks.
  for (let round = 0; pending.length > 0 && round < 5; round++) {
    const answer = await ctx.db.send(
      new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    items.push(...((answer.Responses?.[ctx.tableName] ?? []) as CommandItem[]));
    pending = answer.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
  }
  return items;
}

async function settle(
  ctx: CommandsContext,
  item: CommandItem,
  now: number,
  workers: Map<string, WorkerItem | undefined>,
  report: WatchdogReport,
): Promise<void> {
  if (item.deadline === undefined || item.deadline > now) return;
  if (item.status === COMMAND_STATUS.complete) {
    if (!item.eventPending) return;
    // The ending process sends and clears within moments (its deadline may already be due, see
    // resendDeadline): only a mark older than that means it died in between.
    if ((item.completedAt ?? 0) + EVENT_RESEND_AFTER_MS > now) return;
    await publishCompletion(ctx, item);
    report.resent++;
    return;
  }
  let failure: CommandFailure;
  if (item.status === COMMAND_STATUS.queued) {
    if (!workers.has(item.worker)) workers.set(item.worker, await loadWorkerRecord(ctx, item.worker));
    const worker = workers.get(item.worker);
    failure =
      worker && presenceOf(worker, now) === PRESENCE.online
        ? {
            kind: FAILURE_KINDS.start_timeout,
            message: `worker ${item.worker} did not claim the command within ${item.startTimeoutMs / 1000} s`,
          }
        : {
            kind: FAILURE_KINDS.worker_lost_before_start,
            message: `worker ${item.worker} went offline before it claimed the command`,
          };
  } else {
    const silentUntil = (item.startedAt ?? 0) + item.heartbeatTimeoutMs;
    if (silentUntil > now) {
      if (await moveDeadline(ctx, item, silentUntil)) report.extended++;
      return;
    }
    failure = {
      kind: FAILURE_KINDS.worker_lost,
      message: `worker ${item.worker} sent no update or heartbeat for ${item.heartbeatTimeoutMs / 1000} s`,
    };
  }
  if (await endCommand(ctx, item, item.status, failure))
    report.ended[failure.kind] = (report.ended[failure.kind] ?? 0) + 1;
}

/** Moves a running command's deadline to `until`; false when another write changed the command first. */
async function moveDeadline(ctx: CommandsContext, item: CommandItem, until: number): Promise<boolean> {
  // Race: the worker completes, or an update refreshes the deadline, while the watchdog moves it.
  //   watchdog: set if running AND deadline = D ✓        worker: complete ✓ first → watchdog ✗, leaves it
  //   update: refresh deadline D → D' ✓ first            watchdog ✗: the command is alive, nothing to do
  // The first write wins; a deadline never moves back over a refresh, and a finished command keeps its own.
  try {
    await ctx.db.send(
      new UpdateCommand({
        TableName: ctx.tableName,
        Key: commandKey(item.commandId),
        UpdateExpression: 'SET deadline = :until',
        ConditionExpression: '#status = :running AND deadline = :read',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':until': until,
          ':running': COMMAND_STATUS.running,
          ':read': item.deadline ?? -1,
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
