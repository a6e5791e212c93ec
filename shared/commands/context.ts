// Owns the context of the command lifecycle and the worker registry (clients, names, clock), built from an environment.
import { awsEndpoint, documentClientOf, perEndpoint, sqsClientOf } from '../aws/clients.ts';
import * as ENV from '../config.ts';
import { currentEnv, requireEnv } from '../env.ts';
import type { Env } from '../env.ts';
import * as LIMITS from '../limits.ts';
import type { WorkersContext } from '../workers/context.ts';

/**
 * What the command lifecycle and the worker registry need from their surroundings: clients, names, the
 * clock (the registry's part is WorkersContext). A test may make its own (another clock) by spreading one.
 *
 * What a process remembers between requests hangs off the context object, kept by the module that uses it
 * in a WeakMap by context (recordCache.ts, workers/records.ts, watchdog.ts): one context per environment,
 * so one set of caches per table and endpoint, and two local stacks in one process share none.
 */
export interface CommandsContext extends WorkersContext {
  completionsQueueUrl: string;
}

const contexts = perEndpoint<CommandsContext>();

/**
 * The context for `env` (by default the running invocation's: a local stack's, else process.env). The same
 * object comes back for the same settings, so its caches last as long as a Lambda's container; anything read
 * from `env` that differs (a table, a queue, an endpoint) gives another. Its clients are made on first use.
 */
export function commandsContextFromEnv(env: Env = currentEnv()): CommandsContext {
  const endpoint = awsEndpoint(env);
  const names = {
    tableName: requireEnv(ENV.commandsTable, env),
    completionsQueueUrl: requireEnv(ENV.completionsQueueUrl, env),
    workerQueuePrefix: requireEnv(ENV.workerQueuePrefix, env),
    deadLetterQueueArn: requireEnv(ENV.deadLetterQueueArn, env),
  };
  return contexts(endpoint, Object.values(names).join('\n'), () => ({
    // Getters: a route that never sends to SQS (or never reads DynamoDB) never makes that client.
    get db() {
      return documentClientOf(endpoint);
    },
    get sqs() {
      return sqsClientOf(endpoint);
    },
    ...names,
    now: Date.now,
  }));
}

export function expiresAt(nowMs: number): number {
  return Math.floor(nowMs / 1000) + LIMITS.retentionSeconds;
}
