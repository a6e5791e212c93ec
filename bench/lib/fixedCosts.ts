// Owns the bill's fixed costs: an idle worker a month, a log follower an hour, CloudWatch Logs per command, storage with PITR.
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { LocalStack } from '../../local/index.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';
import { itemSize } from './itemSize.ts';
import { PRICES, dollars } from './prices.ts';
import type { BillUnits } from './prices.ts';

const MONTH_SECONDS = 30 * 24 * 3600;
const GB = 1e9;
/**
 * Bytes Lambda writes to CloudWatch Logs per invocation whatever the code logs: START (~100 B), END (~60 B) and
 * REPORT (~250 B with its init line on a cold start, ~200 B warm) lines.
 */
export const PLATFORM_LOG_BYTES = 400;
/** One EMF metrics line (shared/observability.ts): the directive and a value or two, with the service name. */
export const EMF_LINE_BYTES = 330;
/** DynamoDB's per-item overhead in a table or an index's storage. */
export const ITEM_OVERHEAD_BYTES = 100;
/** Log retention, days (serverless.yml logRetentionInDays): a line is stored for about this long. */
export const LOG_RETENTION_DAYS = 14;
/** Retention of a finished command (LIMITS.retentionSeconds), days. */
export const COMMAND_RETENTION_DAYS = 30;

/**
 * What one idle worker costs, from its rhythm and the measured cost of one of each request. Its rhythm is the
 * service's own: a heartbeat every HEARTBEAT_INTERVAL_MS, a 20 s long poll of its queue, and on AWS one
 * authorizer call per token per cache period (LIMITS.authorizerCacheSeconds: the local gateway may cache
 * otherwise). Costs per request come from the bill's phases (a heartbeat's duration and write units).
 */
export interface IdleWorkerInput {
  heartbeatIntervalSeconds: number;
  longPollSeconds: number;
  authorizerCacheSeconds: number;
  heartbeatDurationMs: number;
  heartbeatMemoryMb: number;
  heartbeatWru: number;
  authorizerDurationMs: number;
  authorizerMemoryMb: number;
}

export interface FixedCosts {
  idleWorkerMonth: { units: BillUnits; dollars: number };
  followerHour: { units: BillUnits; dollars: number };
  logsPerCommand: { bytes: number; dollars: number };
  storagePerCommand: { bytes: number; dollarsPerMonthPer1000Retained: number; dollarsPerGbMonth: number };
  arithmetic: string[];
}

function scaled(units: BillUnits, factor: number): BillUnits {
  return Object.fromEntries(
    Object.entries(units).map(([key, value]) => [key, value * factor]),
  ) as unknown as BillUnits;
}

const fmt = (value: number, digits = 3): string => Number(value.toPrecision(digits)).toLocaleString('en-US');

export function fixedCosts(inputs: {
  idle: IdleWorkerInput;
  /** What following one quiet command cost over `seconds`, the command's own cost and the idle background taken out. */
  follow: { units: BillUnits; seconds: number; polls: number };
  /** Lambda invocations and EMF lines per trivial command. */
  perCommand: { invocations: number; emfLines: number };
  /** A trivial command's record, billed size, and its index entries' (dueByDeadline, byWorker). */
  storage: { recordBytes: number; indexEntryBytes: number[] };
}): FixedCosts {
  const { idle, follow, perCommand, storage } = inputs;
  const lines: string[] = [];
  // An idle worker, a month
  const heartbeatsPerSecond = 1 / idle.heartbeatIntervalSeconds;
  const authorizerPerSecond = 1 / idle.authorizerCacheSeconds;
  const workerSecond: BillUnits = {
    httpRequests: heartbeatsPerSecond,
    lambdaInvocations: heartbeatsPerSecond + authorizerPerSecond,
    lambdaGbSeconds:
      heartbeatsPerSecond * (idle.heartbeatDurationMs / 1000) * (idle.heartbeatMemoryMb / 1024) +
      authorizerPerSecond * (idle.authorizerDurationMs / 1000) * (idle.authorizerMemoryMb / 1024),
    sqsRequestChunks: 1 / idle.longPollSeconds,
    dynamoWru: heartbeatsPerSecond * idle.heartbeatWru,
    dynamoRru: authorizerPerSecond * 0.5,
  };
  const workerMonth = scaled(workerSecond, MONTH_SECONDS);
  const workerParts = dollars(workerMonth);
  const workerDollars = workerParts.total;
  lines.push(
    `idle worker-month: ${fmt(heartbeatsPerSecond * MONTH_SECONDS)} heartbeats (1 every ${idle.heartbeatIntervalSeconds} s: ` +
      `HTTP $${PRICES.httpApiRequest * 1e6}/M + invocation $${PRICES.lambdaRequest * 1e6}/M + ${fmt(idle.heartbeatWru)} WRU ` +
      `$${PRICES.dynamoWru * 1e6}/M + ${fmt(idle.heartbeatDurationMs)} ms at ${idle.heartbeatMemoryMb} MB) + ` +
      `${fmt(workerMonth.sqsRequestChunks)} long polls (1 every ${idle.longPollSeconds} s, $${PRICES.sqsRequestChunk * 1e6}/M) + ` +
      `${fmt(authorizerPerSecond * MONTH_SECONDS)} authorizer calls (1 every ${idle.authorizerCacheSeconds} s) = ` +
      `$${fmt(workerDollars)} (HTTP $${fmt(workerParts.httpRequests)}, invocations $${fmt(workerParts.lambdaInvocations)}, ` +
      `duration $${fmt(workerParts.lambdaGbSeconds)}: the heartbeat's time as measured here, which a loaded machine ` +
      `inflates, SQS $${fmt(workerParts.sqsRequestChunks)}, DynamoDB $${fmt(workerParts.dynamoWru + workerParts.dynamoRru)}); ` +
      `10,000 idle workers: $${fmt(workerDollars * 10_000)} a month`,
  );
  // A follower, an hour
  const followerHour = scaled(follow.units, 3600 / follow.seconds);
  const followerDollars = dollars(followerHour).total;
  lines.push(
    `follower-hour: ${follow.polls} polls in ${fmt(follow.seconds)} s of a quiet command (1 every ${fmt(follow.seconds / Math.max(1, follow.polls))} s), ` +
      `${fmt(followerHour.httpRequests)} requests, ${fmt(followerHour.dynamoRru)} RRU an hour = $${fmt(followerDollars)}; ` +
      `a month of one follower left open: $${fmt(followerDollars * 720)}`,
  );
  // CloudWatch Logs per command
  const logBytes = perCommand.invocations * PLATFORM_LOG_BYTES + perCommand.emfLines * EMF_LINE_BYTES;
  const logDollars =
    (logBytes / GB) * (PRICES.logsIngestGb + PRICES.logsStorageGbMonth * (LOG_RETENTION_DAYS / 30));
  lines.push(
    `CloudWatch Logs per command: ${fmt(perCommand.invocations)} invocations x ${PLATFORM_LOG_BYTES} B + ${fmt(perCommand.emfLines)} EMF lines x ` +
      `${EMF_LINE_BYTES} B = ${fmt(logBytes)} B; x ($${PRICES.logsIngestGb}/GB ingested + $${PRICES.logsStorageGbMonth}/GB-month for ` +
      `${LOG_RETENTION_DAYS} days) = $${fmt(logDollars * 1000)} per 1,000 commands`,
  );
  // Storage with PITR
  const bytes =
    storage.recordBytes +
    ITEM_OVERHEAD_BYTES +
    storage.indexEntryBytes.reduce((sum, b) => sum + b + ITEM_OVERHEAD_BYTES, 0);
  const perGbMonth = PRICES.dynamoStorageGbMonth + PRICES.dynamoPitrGbMonth;
  const retained1000 = (1000 * COMMAND_RETENTION_DAYS * bytes) / GB;
  lines.push(
    `storage: $${PRICES.dynamoStorageGbMonth} + $${PRICES.dynamoPitrGbMonth} (PITR) = $${fmt(perGbMonth)} per GB-month; a trivial command keeps ` +
      `${storage.recordBytes} B + ${storage.indexEntryBytes.join(' + ')} B of index + ${1 + storage.indexEntryBytes.length} x ${ITEM_OVERHEAD_BYTES} B = ${fmt(bytes)} B ` +
      `for ${COMMAND_RETENTION_DAYS} days: 1,000 commands a day keep ${fmt(retained1000)} GB = $${fmt(retained1000 * perGbMonth)} a month ` +
      `(log runs add their compressed bytes)`,
  );
  return {
    idleWorkerMonth: { units: workerMonth, dollars: workerDollars },
    followerHour: { units: followerHour, dollars: followerDollars },
    logsPerCommand: { bytes: logBytes, dollars: logDollars },
    storagePerCommand: {
      bytes,
      dollarsPerMonthPer1000Retained: retained1000 * perGbMonth,
      dollarsPerGbMonth: perGbMonth,
    },
    arithmetic: lines,
  };
}

/**
 * A command record's billed size and its two index entries' (their keys), read with a client of its own,
 * outside the bill's tally.
 */
export async function commandStorage(
  stack: LocalStack,
  commandId: string,
): Promise<{ recordBytes: number; indexEntryBytes: number[] }> {
  const client = new DynamoDBClient({
    endpoint: stack.env[ENV.awsEndpointUrlDynamodb],
    region: stack.env[ENV.awsRegion],
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const { Item = {} } = await client.send(
      new GetItemCommand({
        TableName: stack.env[ENV.commandsTable],
        Key: { pk: { S: commandKey(commandId).pk }, sk: { S: commandKey(commandId).sk } },
      }),
    );
    const pick = (names: string[]) =>
      itemSize(Object.fromEntries(names.filter((name) => Item[name]).map((name) => [name, Item[name]!])));
    return {
      recordBytes: itemSize(Item),
      indexEntryBytes: [
        pick(['pk', 'sk', 'dueShard', 'deadline']),
        pick(['pk', 'sk', 'worker', 'createdAt']),
      ],
    };
  } finally {
    client.destroy();
  }
}
