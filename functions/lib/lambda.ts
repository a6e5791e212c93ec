/** What every function does around its handler: the Lambda context on each log line, metrics written per invocation. */
import type { Context } from 'aws-lambda';
import { flushMetrics, logger } from '../../shared/observability.ts';

export type LambdaHandler<Event, Result> = (event: Event, context?: Context) => Promise<Result>;

/**
 * Powertools' injectLambdaContext without its decorator (which needs a class) or middy (another dependency
 * for one call): the request id, function name and cold start go on every log line of the invocation. What
 * the invocation counted is written as it ends, whether it returned or threw (shared/observability.ts).
 * `context` is optional for tests that call a handler directly; Lambda and the local stack always pass one.
 */
export function observed<Event, Result>(handler: LambdaHandler<Event, Result>): LambdaHandler<Event, Result> {
  return async function observedHandler(event, context) {
    if (context) logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      flushMetrics();
    }
  };
}
