// Lambda on the commands table's stream: the push backstop, posting what changed to each command's subscribers.
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../shared/errors.ts';
import * as ENV from '../shared/config.ts';
import { pushContextFromEnv } from '../shared/push/context.ts';
import { fanOut } from '../shared/push/fanOut.ts';
import { observed } from './lib/lambda.ts';

/**
 * Posts and never throws (shared/push/fanOut.ts): a throw would make Lambda retry the whole batch, and each retry
 * would post every frame again; a frame that is lost here has reached the client from the fast path or reaches
 * it from its own read when it resumes.
 */
export const handler = observed(async function pushFanoutHandler(event: DynamoDBStreamEvent): Promise<void> {
  const ctx = pushContextFromEnv();
  if (!ctx) throw new ConfigurationError(ENV.pushEndpoint);
  await fanOut(ctx, event.Records);
});
