// Owns the SDK clients: one DynamoDB DocumentClient, one SQS and one STS client per endpoint, made on first use, and their request counts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import * as ENV from '../config.ts';
import { currentEnv } from '../env.ts';
import { perObject } from '../memo.ts';
import type { Env } from '../env.ts';
import { RequestCounter } from './requestCounter.ts';
import type { RequestTally } from './requestCounter.ts';

/**
 * Clients are cached by what they are built from (region, endpoints, credentials), read from the environment
 * on each call: a Lambda (one environment) makes its clients once, at the first request that needs them, and
 * keeps them for the life of its container; a process that runs two local stacks gets two sets, one per
 * stack's emulators. A variable the environment does not set is left to the SDK's own resolution (its
 * credential chain, its region and endpoint settings), as before.
 *
 * Each kind of client is made by its own function (documentClientOf, sqsClientOf), never by a method of a
 * shared object: a function bundle that never sends to SQS then carries no SQS client (about 30 KB).
 */
export interface AwsEndpoint {
  /** Region, endpoints and credentials: what tells this endpoint apart from another. */
  readonly key: string;
  readonly settings: ClientSettings;
  /** Counts the requests of this endpoint's clients (and of clients added with `counter.count`). */
  readonly counter: RequestCounter;
}

export interface ClientSettings {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
  stsEndpoint?: string;
}

function settingsOf(env: Env): ClientSettings {
  const settings: ClientSettings = {};
  const region = env[ENV.awsRegion];
  if (region) settings.region = region;
  const accessKeyId = env[ENV.awsAccessKeyId];
  const secretAccessKey = env[ENV.awsSecretAccessKey];
  if (accessKeyId && secretAccessKey) {
    const sessionToken = env[ENV.awsSessionToken];
    settings.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  const dynamodbEndpoint = env[ENV.awsEndpointUrlDynamodb] || env[ENV.awsEndpointUrl];
  if (dynamodbEndpoint) settings.dynamodbEndpoint = dynamodbEndpoint;
  const sqsEndpoint = env[ENV.awsEndpointUrlSqs] || env[ENV.awsEndpointUrl];
  if (sqsEndpoint) settings.sqsEndpoint = sqsEndpoint;
  const stsEndpoint = env[ENV.awsEndpointUrlSts] || env[ENV.awsEndpointUrl];
  if (stsEndpoint) settings.stsEndpoint = stsEndpoint;
  return settings;
}

function keyOf(settings: ClientSettings): string {
  const { region, credentials, dynamodbEndpoint, sqsEndpoint, stsEndpoint } = settings;
  return [
    region,
    dynamodbEndpoint,
    sqsEndpoint,
    stsEndpoint,
    credentials?.accessKeyId,
    credentials?.secretAccessKey,
    credentials?.sessionToken,
  ].join('\n');
}

const endpoints = new Map<string, AwsEndpoint>();
/** An endpoint's clients, each made on first use. */
const clientsOf = perObject(
  (
    _endpoint: AwsEndpoint,
  ): { base?: DynamoDBClient; document?: DynamoDBDocumentClient; sqs?: SQSClient; sts?: STSClient } => ({}),
);

/** The endpoint of `env`'s region, endpoints and credentials: the same object for the same settings. */
export function awsEndpoint(env: Env = currentEnv()): AwsEndpoint {
  const settings = settingsOf(env);
  const key = keyOf(settings);
  let endpoint = endpoints.get(key);
  if (!endpoint) endpoints.set(key, (endpoint = { key, settings, counter: new RequestCounter() }));
  return endpoint;
}

/**
 * How long one request may take before the SDK gives it up (and retries it, up to maxAttempts): an endpoint
 * that accepts the connection and then hangs (an emulator restarting, a network fault) must fail into a 503
 * (shared/aws/errors.ts), not hold a handler until its Lambda timeout. DynamoDB and STS answer in
 * milliseconds; SQS gets more than its 20 s long poll. Connecting gets 3 s.
 */
export const REQUEST_TIMEOUT_MS = { dynamodb: 10_000, sqs: 30_000, sts: 10_000 } as const;
const CONNECTION_TIMEOUT_MS = 3_000;

function common(
  settings: ClientSettings,
  service: keyof typeof REQUEST_TIMEOUT_MS,
): Pick<DynamoDBClientConfig, 'region' | 'credentials' | 'maxAttempts' | 'requestHandler'> {
  const { region, credentials } = settings;
  return {
    maxAttempts: 5,
    requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS[service], connectionTimeout: CONNECTION_TIMEOUT_MS },
    ...(region ? { region } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

/** The endpoint's DocumentClient, made on first use. */
export function documentClientOf(endpoint: AwsEndpoint): DynamoDBDocumentClient {
  const clients = clientsOf(endpoint);
  if (!clients.document) {
    const { dynamodbEndpoint } = endpoint.settings;
    // Kept apart: DynamoDBDocumentClient.destroy() does nothing, so releaseAwsClients closes the base client.
    clients.base = new DynamoDBClient({
      ...common(endpoint.settings, 'dynamodb'),
      ...(dynamodbEndpoint ? { endpoint: dynamodbEndpoint } : {}),
    });
    endpoint.counter.count(clients.base, 'dynamodb');
    clients.document = DynamoDBDocumentClient.from(clients.base, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }
  return clients.document;
}

/** The endpoint's SQS client, made on first use. */
export function sqsClientOf(endpoint: AwsEndpoint): SQSClient {
  const clients = clientsOf(endpoint);
  if (!clients.sqs) {
    const { sqsEndpoint } = endpoint.settings;
    // Send to the configured endpoint, not the queue URL's host: fauxqs URLs name sqs.<region>.localhost,
    // which does not resolve; on AWS both are the same regional endpoint.
    clients.sqs = new SQSClient({
      ...common(endpoint.settings, 'sqs'),
      ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
      useQueueUrlAsEndpoint: false,
    });
    endpoint.counter.count(clients.sqs, 'sqs');
  }
  return clients.sqs;
}

/** The endpoint's STS client, made on first use (only the worker API's heartbeat assumes a role). */
export function stsClientOf(endpoint: AwsEndpoint): STSClient {
  const clients = clientsOf(endpoint);
  if (!clients.sts) {
    const { stsEndpoint } = endpoint.settings;
    clients.sts = new STSClient({
      ...common(endpoint.settings, 'sts'),
      ...(stsEndpoint ? { endpoint: stsEndpoint } : {}),
    });
    endpoint.counter.count(clients.sts, 'sts');
  }
  return clients.sts;
}

/**
 * Closes the clients of `env`'s endpoints and forgets them (a local stack's stop(): its emulators are gone).
 * The next call for the same settings makes new ones, with a new count.
 */
export function releaseAwsClients(env: Env): void {
  const key = keyOf(settingsOf(env));
  const endpoint = endpoints.get(key);
  if (!endpoint) return;
  const clients = clientsOf(endpoint);
  clients.base?.destroy();
  clients.sqs?.destroy();
  clients.sts?.destroy();
  endpoints.delete(key);
}

export function dynamoDocumentClient(env: Env = currentEnv()): DynamoDBDocumentClient {
  return documentClientOf(awsEndpoint(env));
}

export function sqsClient(env: Env = currentEnv()): SQSClient {
  return sqsClientOf(awsEndpoint(env));
}

/** The requests (and DynamoDB capacity) that `env`'s clients sent since they were made or last reset. */
export function requestTally(env: Env = currentEnv()): RequestTally {
  return awsEndpoint(env).counter.snapshot();
}

export function resetRequestTally(env: Env = currentEnv()): void {
  awsEndpoint(env).counter.reset();
}

/**
 * A cache of what is built on an endpoint's clients (a context, a connector, a token store), one per `key` (its
 * table, its queues): the same endpoint and key give the same object, so what it remembers lasts as long as a
 * Lambda's container, and it goes when releaseAwsClients() forgets its endpoint.
 */
export function perEndpoint<T>(): (endpoint: AwsEndpoint, key: string, make: () => T) => T {
  const made = perObject<AwsEndpoint, Map<string, T>>(() => new Map());
  return (endpoint, key, make) => {
    const byKey = made(endpoint);
    let value = byKey.get(key);
    if (value === undefined) byKey.set(key, (value = make()));
    return value;
  };
}
