// Owns the push context (the connections table, the signed PostToConnection, counts), built from an environment.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsEndpoint, documentClientOf, perEndpoint } from '../aws/clients.ts';
import * as ENV from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import { currentEnv } from '../env.ts';
import type { Env } from '../env.ts';
import { connectionsApi } from './connectionsApi.ts';
import type { ConnectionsApi } from './connectionsApi.ts';

/** What push did in this process: the benchmarks read it, and failures are counted here as well as logged. */
export interface PushTally {
  /** Subscriber Queries (pattern 3). */
  queries: number;
  /** Frames posted (PostToConnection calls that succeeded). */
  posted: number;
  /** Bytes of those frames. */
  postedBytes: number;
  /** Connections found gone (410) and deleted. */
  gone: number;
  /** Pushes that failed (a Query or a post): logged, never thrown into the write path. */
  failures: number;
}

export interface PushContext {
  db: DynamoDBDocumentClient;
  tableName: string;
  /** The commands table, for the snapshot a command's subscription answers with. */
  commandsTable: string;
  api: ConnectionsApi;
  /** False when PUSH_FAST_PATH=off: the writing handlers leave pushing to the stream fan-out. */
  fastPath: boolean;
  tally: PushTally;
}

const contexts = perEndpoint<PushContext>();

export function emptyTally(): PushTally {
  return { queries: 0, posted: 0, postedBytes: 0, gone: 0, failures: 0 };
}

/**
 * The push context of `env`, or undefined when push is not configured there (no connections table or no
 * endpoint: an older deployment, or a test's bare environment). One per table and endpoint, as the others.
 */
export function pushContextFromEnv(env: Env = currentEnv()): PushContext | undefined {
  const tableName = env[ENV.connectionsTable];
  const endpointUrl = env[ENV.pushEndpoint];
  if (!tableName || !endpointUrl) return undefined;
  const endpoint = awsEndpoint(env);
  const fastPath = env[ENV.pushFastPath] !== 'off';
  return contexts(endpoint, [tableName, endpointUrl, fastPath, env[ENV.commandsTable]].join('\n'), () => {
    const { region, credentials } = endpoint.settings;
    // Posts are signed with the environment's credentials (on Lambda, the function's role).
    if (!credentials) throw new ConfigurationError(ENV.awsAccessKeyId);
    // A gone or slow connection must not hold the write path: one retry, a short timeout.
    const api = connectionsApi({
      endpoint: endpointUrl,
      region: region ?? env[ENV.awsRegion] ?? 'us-east-1',
      credentials,
      timeoutMs: 3_000,
    });
    const commandsTable = env[ENV.commandsTable] ?? '';
    return { db: documentClientOf(endpoint), tableName, commandsTable, api, fastPath, tally: emptyTally() };
  });
}

/** This process's push counts for `env` (zeros when push is not configured). */
export function pushTally(env: Env = currentEnv()): PushTally {
  return { ...(pushContextFromEnv(env)?.tally ?? emptyTally()) };
}
