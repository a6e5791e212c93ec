// Owns the SDK clients: one DynamoDB DocumentClient and one SQS client per endpoint, made on first use, and their request counts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ENV, currentEnv } from '../config.ts';
import { perObject } from '../memo.ts';
import type { Env } from '../config.ts';
import { RequestCounter } from './requestCounter.ts';
import type { RequestTally } from './requestCounter.ts';

/**
 * Clients are cached by what they are built from (region, endpoints, credentials), read from the environment
 * on each call: a Lambda (one environment) makes its clients once, at the first request that needs them, and
 * keeps them for the life of its container; a process that runs two local stacks gets two sets, one per
 * stack's emulators. A variable the environment does not set is left to the SDK's own resolution (its
 * credential chain, its region and endpoint settings), as before.
 */
export interface AwsClients {
  /** Region, endpoints and credentials: what tells these clients apart from another set. */
  readonly key: string;
  readonly db: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** Counts the requests these clients send (and those of clients added with `counter.count`). */
  readonly counter: RequestCounter;
}

interface ClientSettings {
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  dynamodbEndpoint?: string;
  sqsEndpoint?: string;
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
  return settings;
}

function keyOf(settings: ClientSettings): string {
  const { region, credentials, dynamodbEndpoint, sqsEndpoint } = settings;
  return [
    region,
    dynamodbEndpoint,
    sqsEndpoint,
    credentials?.accessKeyId,
    credentials?.secretAccessKey,
    credentials?.sessionToken,
  ].join('\n');
}

/** The clients of one endpoint setting, each made when first used (a cold start pays only for what it touches). */
class EndpointClients implements AwsClients {
  readonly counter = new RequestCounter();
  private documentClient: DynamoDBDocumentClient | undefined;
  private sqsClient: SQSClient | undefined;

  constructor(
    readonly key: string,
    private readonly settings: ClientSettings,
  ) {}

  private common(): Pick<DynamoDBClientConfig, 'region' | 'credentials' | 'maxAttempts'> {
    const { region, credentials } = this.settings;
    return { maxAttempts: 5, ...(region ? { region } : {}), ...(credentials ? { credentials } : {}) };
  }

  get db(): DynamoDBDocumentClient {
    if (!this.documentClient) {
      const { dynamodbEndpoint } = this.settings;
      const base = new DynamoDBClient({
        ...this.common(),
        ...(dynamodbEndpoint ? { endpoint: dynamodbEndpoint } : {}),
      });
      this.counter.count(base, 'dynamodb');
      this.documentClient = DynamoDBDocumentClient.from(base, {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
      });
    }
    return this.documentClient;
  }

  get sqs(): SQSClient {
    if (!this.sqsClient) {
      const { sqsEndpoint } = this.settings;
      // Send to the configured endpoint, not the queue URL's host: fauxqs URLs name sqs.<region>.localhost,
      // which does not resolve; on AWS both are the same regional endpoint.
      this.sqsClient = new SQSClient({
        ...this.common(),
        ...(sqsEndpoint ? { endpoint: sqsEndpoint } : {}),
        useQueueUrlAsEndpoint: false,
      });
      this.counter.count(this.sqsClient, 'sqs');
    }
    return this.sqsClient;
  }

  destroy(): void {
    this.documentClient?.destroy();
    this.sqsClient?.destroy();
  }
}

const byKey = new Map<string, EndpointClients>();

/** The clients for `env`'s region, endpoints and credentials: the same object for the same settings. */
export function awsClients(env: Env = currentEnv()): AwsClients {
  const settings = settingsOf(env);
  const key = keyOf(settings);
  let clients = byKey.get(key);
  if (!clients) byKey.set(key, (clients = new EndpointClients(key, settings)));
  return clients;
}

/**
 * Closes the clients of `env`'s endpoints and forgets them (a local stack's stop(): its emulators are gone).
 * The next awsClients() for the same settings makes new ones, with a new count.
 */
export function releaseAwsClients(env: Env): void {
  const key = keyOf(settingsOf(env));
  byKey.get(key)?.destroy();
  byKey.delete(key);
}

export function dynamoDocumentClient(env: Env = currentEnv()): DynamoDBDocumentClient {
  return awsClients(env).db;
}

export function sqsClient(env: Env = currentEnv()): SQSClient {
  return awsClients(env).sqs;
}

/** The requests (and DynamoDB capacity) that `env`'s clients sent since they were made or last reset. */
export function requestTally(env: Env = currentEnv()): RequestTally {
  return awsClients(env).counter.snapshot();
}

export function resetRequestTally(env: Env = currentEnv()): void {
  awsClients(env).counter.reset();
}

/**
 * A cache of what is built on a set of clients (a context, a connector, a token store), one per `key` (its
 * table, its queues): the same clients and key give the same object, so what it remembers lasts as long as a
 * Lambda's container, and it goes when releaseAwsClients() forgets its clients.
 */
export function perClients<T>(): (clients: AwsClients, key: string, make: () => T) => T {
  const made = perObject<AwsClients, Map<string, T>>(() => new Map());
  return (clients, key, make) => {
    const byKey = made(clients);
    let value = byKey.get(key);
    if (value === undefined) byKey.set(key, (value = make()));
    return value;
  };
}
