// Owns what push costs on AWS: a connected client's hour and one pushed update, from prices and counts measured by bench/push.ts.
import { PRICES } from './prices.ts';
import type { Figure } from './report.ts';

/** API Gateway WebSocket APIs, us-east-1 (first billion a month): messages are metered in 32 KB units. */
export const WEBSOCKET_PRICES = {
  /** Per message, each way, per 32 KB. */
  message: 1.0 / 1e6,
  /** Per connection-minute. */
  connectionMinute: 0.25 / 1e6,
} as const;

/**
 * What one pushed update takes, by path, as bench/push.ts measured it (defaults: its last run, 2026-11-26).
 * A completion is priced as one update: one post per subscriber carries the status and its final run.
 * `queries`: subscriber Queries (0.5 RRU each, eventually consistent, one small partition); `posts`: frames posted
 * per subscriber; `fanoutInvocations` and `fanoutGbSeconds`: the stream fan-out's Lambda per update; `postMs`: the
 * writing handler's extra time for the fast path (its Query and post), billed at its 256 MB.
 */
export interface PushUnitCounts {
  fast: { queries: number; posts: number; postMs: number };
  stream: { queries: number; posts: number; fanoutInvocations: number; fanoutGbSeconds: number };
}

export const MEASURED_PUSH_COUNTS: PushUnitCounts = {
  // No Query: the writer posts to the watchers the record it just wrote lists (shared/push/snapshot.ts).
  fast: { queries: 0, posts: 1, postMs: 6 },
  stream: { queries: 1, posts: 1, fanoutInvocations: 1, fanoutGbSeconds: 0.25 * 0.01 },
};

/** Connect ($connect: a token GetItem, a PutItem) and disconnect (a DeleteItem) once per API Gateway's 2-hour cap. */
const CONNECTS_PER_HOUR = 0.5;
/** PushSocket's ping every 5 minutes keeps an idle socket past API Gateway's 10-minute idle timeout. */
const PINGS_PER_HOUR = 12;
/** The push function's duration per invocation, 128 MB. */
const PUSH_FUNCTION_GB_SECONDS = 0.125 * 0.01;

/** Dollars for one connected client-hour, and for one update pushed to one subscriber (fast path + backstop). */
export function pushCosts(counts: PushUnitCounts = MEASURED_PUSH_COUNTS): {
  clientHour: number;
  pushedUpdate: number;
} {
  const lambda = (invocations: number, gbSeconds: number) =>
    invocations * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecond;
  const invocationsPerHour = CONNECTS_PER_HOUR * 2 + PINGS_PER_HOUR;
  const clientHour =
    60 * WEBSOCKET_PRICES.connectionMinute +
    // Each ping is a message in and its pong a message out.
    PINGS_PER_HOUR * 2 * WEBSOCKET_PRICES.message +
    lambda(invocationsPerHour, invocationsPerHour * PUSH_FUNCTION_GB_SECONDS) +
    CONNECTS_PER_HOUR * (0.5 * PRICES.dynamoRru + 2 * PRICES.dynamoWru);
  const { fast, stream } = counts;
  const pushedUpdate =
    (fast.queries + stream.queries) * 0.5 * PRICES.dynamoRru +
    (fast.posts + stream.posts) * WEBSOCKET_PRICES.message +
    lambda(0, (fast.postMs / 1000) * 0.25) +
    lambda(stream.fanoutInvocations, stream.fanoutGbSeconds);
  return { clientHour, pushedUpdate };
}

/** The two figures `npm run bench -- bill` and `-- push` report. */
export function pushCostFigures(counts?: PushUnitCounts): Figure[] {
  const { clientHour, pushedUpdate } = pushCosts(counts);
  return [
    { name: 'push: $ per connected client-hour', value: clientHour, unit: '$' },
    {
      name: 'push: $ per million pushed updates (fast path + stream backstop)',
      value: pushedUpdate * 1e6,
      unit: '$',
    },
  ];
}
