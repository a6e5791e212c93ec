// Owns the environment: every variable name (ENV), which environment a call reads (currentEnv), requireEnv.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ConfigurationError } from './errors.ts';

/** An environment as the code reads it: process.env, or a local stack's own (`startLocalStack().env`). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Every environment variable the project reads or writes, by one name each. Code says `env[ENV.stateTable]`,
 * never the string: a renamed variable is then one edit, and this list is the whole configuration surface.
 */
export const ENV = {
  // The service's names: serverless.yml's provider.environment on AWS; startLocalStack() sets the same.
  serviceName: 'SERVICE_NAME',
  stage: 'STAGE',
  stateTable: 'STATE_TABLE',
  commandsTable: 'COMMANDS_TABLE',
  completionsQueueUrl: 'COMPLETIONS_QUEUE_URL',
  deadLetterQueueArn: 'DEAD_LETTER_QUEUE_ARN',
  workerQueuePrefix: 'WORKER_QUEUE_PREFIX',

  // The AWS SDK's own: where every process reaches DynamoDB and SQS (the local stack's emulators, or AWS).
  awsRegion: 'AWS_REGION',
  awsAccessKeyId: 'AWS_ACCESS_KEY_ID',
  awsSecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  awsSessionToken: 'AWS_SESSION_TOKEN',
  awsEndpointUrl: 'AWS_ENDPOINT_URL',
  awsEndpointUrlDynamodb: 'AWS_ENDPOINT_URL_DYNAMODB',
  awsEndpointUrlSqs: 'AWS_ENDPOINT_URL_SQS',
  /** Set by Lambda itself: its presence says the code runs in a Lambda. */
  awsLambdaFunctionName: 'AWS_LAMBDA_FUNCTION_NAME',

  // Powertools for AWS Lambda (docs/operations.md); the Logger reads these itself.
  powertoolsServiceName: 'POWERTOOLS_SERVICE_NAME',
  powertoolsMetricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  powertoolsMetricsDisabled: 'POWERTOOLS_METRICS_DISABLED',
  powertoolsLogLevel: 'POWERTOOLS_LOG_LEVEL',

  // The bbs CLI and the worker agent (docs/cli.md); `npm start` prints them as export lines.
  /** The HTTP API's base URL (`--api-url`). */
  apiUrl: 'BBS_API_URL',
  /** The CLI's token (`--token`): a client token, or admin. */
  token: 'BBS_TOKEN',
  /** `bbs worker`'s own token (`--token`), kept out of `ps`. */
  workerToken: 'BBS_WORKER_TOKEN',
  /** The worker of `bbs run` and `bbs list` (`--worker`). */
  worker: 'BBS_WORKER',
  /** `npm start`'s admin token, printed for another shell. */
  adminToken: 'BBS_ADMIN_TOKEN',
  /** `npm start`'s client token, printed for another shell. */
  clientToken: 'BBS_CLIENT_TOKEN',

  // Node and the SDK's notices, quietened in the processes the local stack and the tests start.
  nodeOptions: 'NODE_OPTIONS',
  nodeNoWarnings: 'NODE_NO_WARNINGS',
  awsSdkSuppressNodeDeprecationWarning: 'AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING',
  awsSdkNodeVersionSupportWarningDisabled: 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED',
} as const;

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
