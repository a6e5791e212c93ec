// Owns the queue credentials a heartbeat vends: STS AssumeRole with a session policy that names the worker's own queue.
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { STSClient } from '@aws-sdk/client-sts';
import { awsEndpoint, stsClientOf } from '../aws/clients.ts';
import * as ENV from '../config.ts';
import { currentEnv, requireEnv } from '../env.ts';
import type { Env } from '../env.ts';
import type { WorkersContext } from './context.ts';
import { workerQueueName } from './keys.ts';
import type { QueueAccess } from './types.ts';

/**
 * A build machine holds one secret, its bbs token (docs/security.md). Everything else it needs from AWS, the
 * right to receive from its own queue, it gets from its heartbeat: credentials of one AssumeRole call on the
 * worker-queue role (infra/roles.yml WorkerQueueRole), narrowed by a session policy to the three calls the
 * agent makes on one queue. The role itself allows them on every worker queue of the stage; the session
 * policy is what makes one worker's credentials useless on another's queue (an intersection: IAM grants
 * only what both allow).
 *
 * The worker asks only when it holds none or its current ones end within WORKER_CREDENTIALS_REFRESH_MS: one
 * STS call per worker every 45 minutes, not per heartbeat. 10,000 workers then make about 4 AssumeRole calls a second,
 * well under STS's default of 600 a second per account.
 */

/** The agent's calls on its queue (worker/worker.ts, worker/messageDeleter.ts), and nothing else. */
export const WORKER_QUEUE_ACTIONS = Object.freeze([
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:ChangeMessageVisibility',
]);

/**
 * How long vended credentials last, in seconds. A Lambda's role assuming another role is role chaining,
 * which AWS caps at one hour. @default 3600
 */
export const WORKER_CREDENTIALS_SECONDS = 3600;

/** The worker asks for fresh credentials once its current ones end within this long. @default 15 minutes */
export const WORKER_CREDENTIALS_REFRESH_MS = 15 * 60_000;

/**
 * The ARN of the worker's queue: the dead-letter queue's ARN (same partition, region and account, from
 * infra/queues.yml) with the worker queue's name in place of its own.
 */
export function workerQueueArn(ctx: WorkersContext, name: string): string {
  const parts = ctx.deadLetterQueueArn.split(':');
  if (parts.length !== 6 || parts[2] !== 'sqs')
    throw new Error(`DEAD_LETTER_QUEUE_ARN is not an SQS queue ARN: ${ctx.deadLetterQueueArn}`);
  return [...parts.slice(0, 5), workerQueueName(ctx, name)].join(':');
}

/** The session policy: the agent's calls on this worker's queue only. */
export function queueSessionPolicy(ctx: WorkersContext, name: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: WORKER_QUEUE_ACTIONS, Resource: workerQueueArn(ctx, name) }],
  });
}

/**
 * A session name says in CloudTrail which worker acted: `bbs-<name>`, within STS's 64 characters of
 * `[\w+=,.@-]` (worker names are `[A-Za-z0-9_-]`, at most 40: they always fit).
 */
export function sessionName(name: string): string {
  return `bbs-${name}`.slice(0, 64);
}

/** Vends queue access to a worker; made from the environment by credentialsVendorFromEnv. */
export interface CredentialsVendor {
  vend(ctx: WorkersContext, name: string): Promise<QueueAccess>;
}

/**
 * The vendor of `env` (the worker API's: ENV.workerCredentialsRoleArn names the role), or undefined where no
 * role is configured: the heartbeat then answers without credentials, and a worker uses its environment's.
 * The STS client is made on first use, so only the worker API's bundle carries it.
 */
export function credentialsVendorFromEnv(env: Env = currentEnv()): CredentialsVendor | undefined {
  const roleArn = env[ENV.workerCredentialsRoleArn];
  if (!roleArn) return undefined;
  const region = requireEnv(ENV.awsRegion, env);
  const endpoint = env[ENV.workerSqsEndpoint];
  const aws = awsEndpoint(env);
  return {
    vend: async (ctx, name) => ({
      region,
      ...(endpoint ? { endpoint } : {}),
      credentials: await assumeQueueRole(stsClientOf(aws), ctx, roleArn, name),
    }),
  };
}

/**
 * Assumes the worker-queue role for `name`'s queue. An STS that cannot answer (throttled, unreachable) fails
 * the heartbeat as any unavailable service does (503 with Retry-After, shared/aws/errors.ts): the presence
 * is already recorded, and the worker asks again with its next beat.
 */
async function assumeQueueRole(
  sts: STSClient,
  ctx: WorkersContext,
  roleArn: string,
  name: string,
): Promise<QueueAccess['credentials']> {
  const answer = await sts.send(
    new AssumeRoleCommand({
      RoleArn: roleArn,
      RoleSessionName: sessionName(name),
      Policy: queueSessionPolicy(ctx, name),
      DurationSeconds: WORKER_CREDENTIALS_SECONDS,
    }),
  );
  const { AccessKeyId, SecretAccessKey, SessionToken, Expiration } = answer.Credentials ?? {};
  if (!AccessKeyId || !SecretAccessKey || !SessionToken || !Expiration)
    throw new Error(`AssumeRole for worker ${name} answered without credentials`);
  return {
    accessKeyId: AccessKeyId,
    secretAccessKey: SecretAccessKey,
    sessionToken: SessionToken,
    expiration: Expiration.toISOString(),
  };
}
