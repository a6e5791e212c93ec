// Owns which environment a call reads: currentEnv() (a local stack's inside its invocations, else process.env), and requireEnv.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as ENV from './config.ts';
import { ConfigurationError } from './errors.ts';

/** An environment as the code reads it: process.env, or a local stack's own (`startLocalStack().env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/** The service's own names, which serverless.yml's provider.environment sets for every function. */
export const SERVICE_VARIABLES = [
  ENV.serviceName,
  ENV.stage,
  ENV.stateTable,
  ENV.commandsTable,
  ENV.completionsQueueUrl,
  ENV.deadLetterQueueArn,
  ENV.workerQueuePrefix,
] as const;

/**
 * The environment of the running invocation. On AWS (and in the CLI, the worker, scripts) there is one per
 * process, process.env. The local stack runs its functions in its own process, each invocation inside
 * runWithEnv(stack.env, ...), so that several stacks can share a process without writing process.env.
 */
const envStore = new AsyncLocalStorage<Env>();

/** The environment of the running invocation: the local stack's when inside runWithEnv, else process.env. */
export function currentEnv(): Env {
  return envStore.getStore() ?? process.env;
}

/** Runs `fn` (and everything it awaits or schedules) with `env` as its currentEnv(). */
export function runWithEnv<T>(env: Env, fn: () => T): T {
  return envStore.run(env, fn);
}

export function requireEnv(variable: string, env: Env = currentEnv()): string {
  const value = env[variable];
  if (value === undefined || value === '') throw new ConfigurationError(variable);
  return value;
}
