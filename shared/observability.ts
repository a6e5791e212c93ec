/** What the functions log and measure: one Powertools Logger, the metric names, the counters and their EMF lines. */
import { Logger } from '@aws-lambda-powertools/logger';
import { RESULT_NAMES } from './commands/types.ts';
import type { CommandFailure, Results } from './commands/types.ts';
import * as ENV from './config.ts';
import { currentEnv } from './env.ts';
import type { Env } from './env.ts';

/**
 * Powertools' variables (ENV.powertools*, docs/operations.md): the Logger reads them itself, and the EMF lines
 * below honour the metrics ones as Powertools Metrics would. serverless.yml sets the service and the namespace
 * for every function; the defaults below serve tests and scripts.
 */
export const OBSERVABILITY_DEFAULTS = {
  /** @default 'buildbot-serverless' */
  serviceName: 'buildbot-serverless',
  /** @default 'buildbot-serverless' */
  metricsNamespace: 'buildbot-serverless',
} as const;

/** The metrics (docs/operations.md): each has the `service` dimension; CommandsEnded also `result` and `failureKind`. */
export const METRIC_NAMES = {
  /** A command recorded by POST /v1/commands (a repeat of its idempotency key is not counted again). */
  commandsStarted: 'CommandsStarted',
  /** The ending write a process won: exactly one per command, whoever ended it. */
  commandsEnded: 'CommandsEnded',
  /** UTF-8 bytes of updates stored for the first time (a resent batch adds nothing), before compression. */
  updateBytesIngested: 'UpdateBytesIngested',
  /**
   * Seconds from a watchdog run's clock back to its furthest-behind shard cursor (at least 30 s by design):
   * growing means the watchdog does not keep up, or one command holds its shard (infra/commands-table.yml alarm).
   */
  watchdogCursorLag: 'WatchdogCursorLag',
} as const;

export const METRIC_DIMENSIONS = { result: 'result', failureKind: 'failureKind' } as const;

/** The failureKind dimension of a command that ended without a failure. */
export const NO_FAILURE_KIND = 'none';

function fromEnv(variable: string, fallback: string): string {
  const value = currentEnv()[variable];
  return value === undefined || value === '' ? fallback : value;
}

/** How deep a chain of causes is followed into a log line. */
const CAUSE_DEPTH_MAX = 3;

/**
 * The fields of an error that may reach a log: name, message, stack and cause, nothing else. An error's
 * other properties can hold stored items (a failed condition's old item, an idempotency key's stored
 * request) or request data, and Powertools would otherwise print every one of them.
 */
export function loggableError(error: Error, depth = 0): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  const { cause } = error;
  if (cause !== undefined && depth < CAUSE_DEPTH_MAX)
    fields.cause = cause instanceof Error ? loggableError(cause, depth + 1) : String(cause);
  return fields;
}

/**
 * One JSON line per entry, with the Lambda context once a handler adds it (functions/lib/lambda.ts).
 * Level: POWERTOOLS_LOG_LEVEL (default INFO). Never log a token, an Authorization header or a body.
 */
export const logger = new Logger({
  serviceName: fromEnv(ENV.powertoolsServiceName, OBSERVABILITY_DEFAULTS.serviceName),
  jsonReplacerFn: (_key, value) => (value instanceof Error ? loggableError(value) : value),
});

const TRUE_WORDS = new Set(['1', 'y', 'yes', 't', 'true', 'on']);

/**
 * Whether metrics are emitted. On Lambda: yes, unless POWERTOOLS_METRICS_DISABLED is true. Anywhere else
 * (the local stack runs the handlers in its own process; tests; benches) only when it is set to false, so
 * that `npm start` and test output carry no EMF lines. Read at each call, so a test can switch it.
 */
export function metricsEnabled(env: Env = currentEnv()): boolean {
  const disabled = env[ENV.powertoolsMetricsDisabled]?.trim().toLowerCase();
  if (disabled !== undefined && disabled !== '') return !TRUE_WORDS.has(disabled);
  return env[ENV.awsLambdaFunctionName] !== undefined;
}

/**
 * What this invocation counted, published by flushMetrics as it ends. Invocations that overlap in one
 * process (the local stack's) share it: the first to end writes the others' counts too, and the sums hold.
 */
const tally = {
  started: 0,
  updateBytes: 0,
  /** By result and failure kind: each pair has its own dimensions, hence its own EMF line. */
  ended: new Map<string, { result: string; failureKind: string; count: number }>(),
  /** The largest watchdog cursor lag of the invocation, in seconds (a gauge: not summed). */
  watchdogLag: undefined as number | undefined,
};

export function countCommandStarted(): void {
  if (metricsEnabled()) tally.started++;
}

/** Called by the process whose ending write won, with what that write recorded. */
export function countCommandEnded(ending: { results?: Results; failure?: CommandFailure | null }): void {
  if (!metricsEnabled()) return;
  const result = ending.results === undefined ? 'unknown' : (RESULT_NAMES[ending.results] ?? 'unknown');
  const failureKind = ending.failure?.kind ?? NO_FAILURE_KIND;
  const key = `${result} ${failureKind}`;
  const pair = tally.ended.get(key);
  if (pair) pair.count++;
  else tally.ended.set(key, { result, failureKind, count: 1 });
}

/** Called by each watchdog run with its cursor lag (shared/commands/watchdog.ts). */
export function recordWatchdogLag(seconds: number): void {
  if (metricsEnabled()) tally.watchdogLag = Math.max(tally.watchdogLag ?? 0, seconds);
}

export function countUpdateBytes(bytes: number): void {
  if (bytes > 0 && metricsEnabled()) tally.updateBytes += bytes;
}

interface EmfMetric {
  name: string;
  unit: 'Count' | 'Bytes' | 'Seconds';
  value: number;
}

/**
 * One line of CloudWatch's Embedded Metric Format: CloudWatch Logs turns it into data points of `metrics`
 * under `dimensions` (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * Written here rather than by Powertools Metrics, which does the same in 12.9 KiB of bundle: that took
 * the commands and workerApi bundles to 308.5 and 308.7 KiB, over the 300 KiB budget (docs/operations.md).
 */
function emfLine(dimensions: Record<string, string>, metrics: EmfMetric[], timestamp: number): string {
  const namespace = fromEnv(ENV.powertoolsMetricsNamespace, OBSERVABILITY_DEFAULTS.metricsNamespace);
  const directive = {
    Namespace: namespace,
    Dimensions: [Object.keys(dimensions)],
    Metrics: metrics.map(({ name, unit }) => ({ Name: name, Unit: unit })),
  };
  const values = Object.fromEntries(metrics.map(({ name, value }) => [name, value]));
  return JSON.stringify({
    _aws: { Timestamp: timestamp, CloudWatchMetrics: [directive] },
    ...dimensions,
    ...values,
  });
}

/**
 * Writes what this invocation counted, one EMF line per set of dimensions, to stdout as it is (not through
 * console, which Lambda prefixes); an invocation that counted nothing writes nothing. Sums, not one value
 * per event: CloudWatch's Sum is the same, and a burst stays one short line.
 */
export function flushMetrics(): void {
  const lines: string[] = [];
  const now = Date.now();
  const service = { service: fromEnv(ENV.powertoolsServiceName, OBSERVABILITY_DEFAULTS.serviceName) };
  const counted: EmfMetric[] = [];
  if (tally.started > 0)
    counted.push({ name: METRIC_NAMES.commandsStarted, unit: 'Count', value: tally.started });
  if (tally.updateBytes > 0)
    counted.push({ name: METRIC_NAMES.updateBytesIngested, unit: 'Bytes', value: tally.updateBytes });
  if (tally.watchdogLag !== undefined)
    counted.push({ name: METRIC_NAMES.watchdogCursorLag, unit: 'Seconds', value: tally.watchdogLag });
  if (counted.length > 0) lines.push(emfLine(service, counted, now));
  for (const { result, failureKind, count } of tally.ended.values())
    lines.push(
      emfLine(
        { ...service, [METRIC_DIMENSIONS.result]: result, [METRIC_DIMENSIONS.failureKind]: failureKind },
        [{ name: METRIC_NAMES.commandsEnded, unit: 'Count', value: count }],
        now,
      ),
    );
  tally.started = 0;
  tally.updateBytes = 0;
  tally.watchdogLag = undefined;
  tally.ended.clear();
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}
