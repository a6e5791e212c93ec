/** What the functions log: one Powertools Logger, whose lines never carry an error's stored evidence. */
import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Powertools reads its own variables (docs/operations.md). serverless.yml sets the service and the
 * namespace for every function; the defaults below serve the local stack, tests and scripts.
 */
export const POWERTOOLS_ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  metricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

export const OBSERVABILITY_DEFAULTS = {
  /** @default 'buildbot-serverless' */
  serviceName: 'buildbot-serverless',
  /** @default 'buildbot-serverless' */
  metricsNamespace: 'buildbot-serverless',
} as const;

function fromEnv(variable: string, fallback: string): string {
  const value = process.env[variable];
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
  serviceName: fromEnv(POWERTOOLS_ENV.serviceName, OBSERVABILITY_DEFAULTS.serviceName),
  jsonReplacerFn: (_key, value) => (value instanceof Error ? loggableError(value) : value),
});
