// Owns the artifacts' context: the bucket, S3's endpoint and the signing credentials of an environment.
import { awsEndpoint } from '../aws/clients.ts';
import { commandsContextFromEnv } from '../commands/context.ts';
import type { CommandsContext } from '../commands/context.ts';
import * as ENV from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import { currentEnv, requireEnv } from '../env.ts';
import type { Env } from '../env.ts';

/** What the artifact routes need: the commands table (records, artifact items), S3 and the bucket. */
export interface ArtifactsContext {
  commands: CommandsContext;
  bucket: string;
  region: string;
  /** S3's endpoint when it is not AWS's (the local stack's fauxqs): requests are then path-style. */
  endpoint?: string;
  /** What presigned URLs are signed with: the function's role (Lambda puts it in the environment). */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Days an object lives (the bucket's lifecycle rule); an artifact item's TTL is the same. */
  expiryDays: number;
}

/** @default 30, as serverless.yml's custom.artifactExpiryDays */
const DEFAULT_EXPIRY_DAYS = 30;

export function artifactsContextFromEnv(env: Env = currentEnv()): ArtifactsContext {
  const { settings } = awsEndpoint(env);
  if (!settings.credentials)
    // Presigned URLs are signed with the environment's credentials (on Lambda, the function's role).
    throw new ConfigurationError(ENV.awsAccessKeyId);
  const days = Number(env[ENV.artifactExpiryDays] ?? DEFAULT_EXPIRY_DAYS);
  const endpoint = env[ENV.awsEndpointUrlS3] || env[ENV.awsEndpointUrl];
  return {
    commands: commandsContextFromEnv(env),
    bucket: requireEnv(ENV.artifactsBucket, env),
    region: settings.region ?? requireEnv(ENV.awsRegion, env),
    ...(endpoint ? { endpoint } : {}),
    credentials: settings.credentials,
    expiryDays: Number.isFinite(days) && days > 0 ? days : DEFAULT_EXPIRY_DAYS,
  };
}
