import { ConfigurationError } from './errors.ts';

/**
 * The environment every process reads: Lambda handlers (set by serverless.yml), the local stack
 * (which sets the same names), the worker and the CLI. AWS endpoints come from the SDK's own
 * variables (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SQS, AWS_REGION, credentials).
 */
export const ENV = {
  serviceName: 'SERVICE_NAME',
  stage: 'STAGE',
  stateTable: 'STATE_TABLE',
  commandsTable: 'COMMANDS_TABLE',
  completionsQueueUrl: 'COMPLETIONS_QUEUE_URL',
  deadLetterQueueArn: 'DEAD_LETTER_QUEUE_ARN',
  workerQueuePrefix: 'WORKER_QUEUE_PREFIX',
} as const;

export function requireEnv(variable: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[variable];
  if (value === undefined || value === '') throw new ConfigurationError(variable);
  return value;
}
