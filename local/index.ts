// startLocalStack(): the whole service on this machine (local/README.md), and its stop().
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TokenStore } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import { awsEndpoint, releaseAwsClients } from '../shared/aws/clients.ts';
import { startLocalIam } from './iam.ts';
import type { LocalIam } from './iam.ts';
import type { RequestTally } from '../shared/aws/requestCounter.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import * as ENV from '../shared/config.ts';
import { resolveIntrinsics } from './serverless/intrinsics.ts';
import type { IntrinsicContext } from './serverless/intrinsics.ts';
import { describeService } from './serverless/service.ts';
import type { ServiceDescription } from './serverless/service.ts';
import { loadServerlessDocument } from './serverless/variables.ts';
import { LocalStackError } from './errors.ts';
import { createResources, recreateWorkerQueues } from './resources.ts';
import { startGateway } from './gateway/server.ts';
import type { Gateway } from './gateway/server.ts';
import { FunctionRunner } from './handlers.ts';
import type { FunctionTally } from './handlers.ts';
import { startPoller } from './pollers.ts';
import { startStreamTriggers } from './streamPoller.ts';
import { websocketRoutes } from './gateway/websocket.ts';
import type { WebSocketGateway } from './gateway/websocket.ts';
import type { Poller } from './pollers.ts';
import { startSchedule } from './schedules.ts';
import type { Schedule } from './schedules.ts';
import { startSupervisor } from './supervisor.ts';
import type { Supervisor } from './supervisor.ts';
import { startLocalWorker } from './worker.ts';
import type { LocalWorker, LocalWorkerOptions } from './worker.ts';

export type { FunctionTally } from './handlers.ts';

/**
 * The embedded local stack (local/README.md): DynamoDB Local and fauxqs on loopback, the tables and queues of
 * infra/, serverless.yml's HTTP routes (through its authorizer), SQS triggers and schedules, all run in this process.
 *
 * Several stacks can run in one process. A stack never writes process.env: its functions run inside
 * runWithEnv(stack.env) (shared/config.ts), so each reads its own stack's names and endpoints, and everything a
 * process keeps between invocations (SDK clients, contexts and their caches, request counts) is per endpoint
 * and table. A process that calls shared/ directly against a stack passes `stack.env` (or copies it into its
 * own process.env, as a test process does).
 */
export interface LocalStackOptions {
  /** Keep DynamoDB's data in this directory (DynamoDB Local's -dbPath); tables found there are kept. @default undefined (in memory) */
  persistDir?: string;
  /** The stage serverless.yml is resolved for (`${sls:stage}`, `${opt:stage}`). @default 'local' */
  stage?: string;
  /** The service file to serve. @default the repository's serverless.yml */
  serverlessFile?: string;
  /** Gateway port on 127.0.0.1. @default 0 (a free port) */
  port?: number;
  /** Every `schedule` event runs its function this often, whatever its rate on AWS. @default 1000 */
  scheduleIntervalMs?: number;
  /** Long-poll wait of the SQS trigger pollers, in seconds. @default 20 */
  pollWaitSeconds?: number;
  /** Where the stack's own lines go (handler errors, emulator output). @default silent */
  log?: (line: string) => void;
  /** Also register and run a worker in this process (`npm start` does). @default undefined (no worker) */
  worker?: LocalWorkerOptions;
  /** The emulators listen on these loopback ports. @default undefined (free ports) */
  emulatorPorts?: { dynamodb: number; sqs: number };
  /**
   * The endpoints `env` gives the functions and the worker, in place of the emulators' own (the chaos suite's
   * fault-injecting proxies, chaos/faultProxy.ts). The stack's own set-up and pollers still reach the emulators
   * directly. @default undefined (the emulators' ports)
   */
  endpoints?: { dynamodb?: string; sqs?: string };
  /** Push's fast path and stream fan-out (docs/client.md), each on unless false. @default { streamPollMs: 50 } */
  push?: { fastPath?: boolean; stream?: boolean; streamPollMs?: number };
}

export interface LocalStack {
  /** `http://127.0.0.1:<port>`, the HTTP API's base URL. */
  apiUrl: string;
  /** Everything a process needs to reach the stack (AWS endpoints and credentials, the service's names, ENV.apiUrl). */
  env: Record<string, string>;
  /** Bearer tokens issued at start. */
  tokens: { admin: string; client: string };
  /** The emulators' processes and ports (for tests that check cleanup, and for figures). */
  emulators: {
    /** The emulator supervisor's current process (a new one after it died and was started again). */
    readonly supervisorPid: number;
    /** DynamoDB Local's current process (a new one after the supervisor restarted it). */
    readonly javaPid: number;
    /** Times the supervisor died and was started again, its queues recreated. */
    readonly supervisorRestarts: number;
    dynamodbPort: number;
    sqsPort: number;
    startMs: number;
  };
  /** The WebSocket API (`ws://127.0.0.1:<port>/v1/push`) and its open connections, which a test may cut. */
  push?: { url: string; connections: WebSocketGateway };
  /** Local queue URLs by queue name, for the queues of infra/. */
  queueUrls: Record<string, string>;
  /** The in-process worker, when `worker` was given. */
  worker?: { name: string; basedir: string };
  /**
   * What the stack did since it started (or resetTallies()), for the benchmarks: each function's invocations, and
   * the AWS requests and DynamoDB capacity sent to its emulators by this process (its functions, pollers and
   * worker, and any caller here that uses shared/aws/clients.ts with the stack's env).
   */
  tallies(): { functions: Record<string, FunctionTally>; aws: RequestTally };
  resetTallies(): void;
  /** Closes the gateway, stops pollers and schedules, ends the emulators and waits until they are gone. Idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_SERVERLESS_FILE = fileURLToPath(new URL('../serverless.yml', import.meta.url));

const DEFAULTS = {
  stage: 'local',
  serverlessFile: DEFAULT_SERVERLESS_FILE,
  port: 0,
  scheduleIntervalMs: 1000,
  pollWaitSeconds: 20,
  log: (_line: string): void => undefined,
};

/** Dummy credentials: the emulators accept any, and the SDK refuses to sign without some. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** provider.environment entries that make no sense here: a flag for Lambda's node; the AWS push endpoint (set below). */
const EXCLUDED_ENV = new Set<string>([ENV.nodeOptions, ENV.pushEndpoint]);

function localEnv(
  service: ServiceDescription,
  ctx: IntrinsicContext,
  ports: { dynamodb: number; sqs: number },
): Record<string, string> {
  const env: Record<string, string> = {
    [ENV.awsRegion]: service.document.region,
    [ENV.awsAccessKeyId]: LOCAL_CREDENTIALS.accessKeyId,
    [ENV.awsSecretAccessKey]: LOCAL_CREDENTIALS.secretAccessKey,
    [ENV.awsEndpointUrlDynamodb]: `http://127.0.0.1:${ports.dynamodb}`,
    [ENV.awsEndpointUrlSqs]: `http://127.0.0.1:${ports.sqs}`,
    // fauxqs serves S3 on its SQS port: presigned URLs point there, and the worker and clients reach it directly.
    [ENV.awsEndpointUrlS3]: `http://127.0.0.1:${ports.sqs}`,
  };
  for (const [name, value] of Object.entries(service.environment)) {
    if (EXCLUDED_ENV.has(name)) continue;
    const resolved = resolveIntrinsics(value, ctx, `provider.environment.${name}`);
    env[name] = typeof resolved === 'object' ? JSON.stringify(resolved) : String(resolved);
  }
  return env;
}

async function issueTokens(
  env: Record<string, string>,
  dynamo: DynamoDBClient,
): Promise<LocalStack['tokens']> {
  const tableName = env[ENV.commandsTable];
  if (!tableName)
    throw new LocalStackError(`provider.environment has no ${ENV.commandsTable}; tokens cannot be issued`, {
      details: { variable: ENV.commandsTable },
    });
  const store = new TokenStore({ client: DynamoDBDocumentClient.from(dynamo), tableName });
  const [admin, client] = await Promise.all([
    store.issue({ role: ROLES.admin }),
    store.issue({ role: ROLES.client }),
  ]);
  return { admin: admin.token, client: client.token };
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const opts = { ...DEFAULTS, ...options };
  const log = opts.log;
  const service: ServiceDescription = describeService(
    loadServerlessDocument({ serverlessFile: opts.serverlessFile, stage: opts.stage }),
  );
  // Set once the stack's names are known: what a supervisor started again after dying needs (its fauxqs is empty).
  let recreateQueues: (() => Promise<void>) | undefined;
  const supervisor: Supervisor = await startSupervisor({
    persistDir: opts.persistDir,
    ...(opts.emulatorPorts ? { ports: opts.emulatorPorts } : {}),
    log,
    onRestart: async () => recreateQueues?.(),
  });
  const region = service.document.region;
  const dynamo = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${supervisor.dynamodbPort}`,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  const sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${supervisor.sqsPort}`,
    region,
    credentials: LOCAL_CREDENTIALS,
  });
  let env: Record<string, string> | undefined;
  let iam: LocalIam | undefined;
  let gateway: Gateway | undefined;
  let worker: LocalWorker | undefined;
  const pollers: Poller[] = [];
  const schedules: Schedule[] = [];

  let stopping: Promise<void> | undefined;
  const onExit = () => supervisor.killNow();
  const onSignal = (signal: NodeJS.Signals) => {
    void stop().finally(() => {
      // Re-raise with the default behaviour, so the process ends as the signal asked.
      process.kill(process.pid, signal);
    });
  };
  function stop(): Promise<void> {
    stopping ??= (async () => {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // The worker first: its last completes still need the gateway.
      await worker?.stop();
      await gateway?.close();
      await Promise.all([...pollers, ...schedules].map((part) => part.stop()));
      await iam?.close();
      dynamo.destroy();
      sqs.destroy();
      // This process's clients of the stack's endpoints (its functions', and any caller's) end with it.
      if (env) releaseAwsClients(env);
      await supervisor.stop();
    })();
    return stopping;
  }
  process.on('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // The service's tables and queues: made at start, and made again after a restarted emulator lost them.
    const serviceResources = () =>
      createResources({
        dynamo,
        sqs,
        resources: service.resources,
        region,
        stackName: service.stackName,
        s3Endpoint: `http://127.0.0.1:${supervisor.sqsPort}`,
        log,
      });
    const created = await serviceResources();
    const ctx: IntrinsicContext = {
      region,
      stackName: service.stackName,
      resources: service.resources,
      queueUrl(name) {
        const url = created.queueUrls[name];
        if (!url) throw new LocalStackError(`no local queue ${name}`, { details: { name } });
        return url;
      },
    };
    env = localEnv(service, ctx, { dynamodb: supervisor.dynamodbPort, sqs: supervisor.sqsPort });
    if (opts.endpoints?.dynamodb) env[ENV.awsEndpointUrlDynamodb] = opts.endpoints.dynamodb;
    if (opts.endpoints?.sqs) env[ENV.awsEndpointUrlSqs] = opts.endpoints.sqs;
    // The heartbeat vends workers their queue credentials as on AWS, from a local STS, and their SQS calls
    // go through a gate that holds those credentials to their session policy (local/iam.ts).
    const roleArn = env[ENV.workerCredentialsRoleArn];
    if (roleArn) {
      iam = await startLocalIam({ roleArn, region, sqsPort: supervisor.sqsPort });
      env[ENV.awsEndpointUrlSts] = iam.url;
      env[ENV.workerSqsEndpoint] = iam.url;
    }
    const stackEnv = env;
    recreateQueues = async () => {
      // Same ports, so the same queue URLs; in memory (no persistDir) the tables come back empty.
      await serviceResources();
      await recreateWorkerQueues(commandsContextFromEnv(stackEnv), log);
    };
    const endpoint = awsEndpoint(env);
    // On AWS the SQS triggers' ReceiveMessage and DeleteMessageBatch are billed: the pollers' client is counted
    // with the stack's other requests.
    endpoint.counter.count(sqs, 'sqs');
    const runner = new FunctionRunner({
      serviceDir: service.document.dir,
      stackName: service.stackName,
      region,
      functions: service.functions,
      env,
    });
    const [tokens, started] = await Promise.all([
      issueTokens(env, dynamo),
      startGateway({
        routes: service.routes,
        authorizers: service.authorizers,
        runner,
        port: opts.port,
        log,
        websocketRoutes: websocketRoutes(service.document.root.functions),
        stage: opts.stage,
      }),
      // fauxqs keeps queues in memory: persisted workers get theirs back before the stack is handed out.
      opts.persistDir ? recreateWorkerQueues(commandsContextFromEnv(env), log) : 0,
    ]);
    gateway = started;
    env[ENV.apiUrl] = started.url;
    if (started.pushUrl)
      Object.assign(env, { [ENV.pushEndpoint]: started.url, [ENV.pushUrl]: started.pushUrl });
    if (opts.push?.fastPath === false) env[ENV.pushFastPath] = 'off';
    if (opts.push?.stream !== false)
      pollers.push(
        ...(await startStreamTriggers({
          functions: service.document.root.functions,
          tables: created.tables,
          dynamo,
          credentials: LOCAL_CREDENTIALS,
          runner,
          region,
          pollIntervalMs: opts.push?.streamPollMs ?? 50,
          log,
        })),
      );

    for (const trigger of service.sqsTriggers.filter((t) => t.enabled)) {
      const arn = String(
        resolveIntrinsics(trigger.arn, ctx, `functions.${trigger.functionName}.events.sqs.arn`),
      );
      const name = arn.split(':').pop() ?? '';
      const queueUrl = created.queueUrls[name];
      if (!queueUrl)
        throw new LocalStackError(
          `function ${trigger.functionName} is triggered by ${arn}, which is not a queue of resources:`,
          {
            details: { function: trigger.functionName, arn },
          },
        );
      pollers.push(
        startPoller({
          sqs,
          runner,
          functionName: trigger.functionName,
          queueUrl,
          queueArn: arn,
          region,
          batchSize: trigger.batchSize,
          maximumBatchingWindowMs: trigger.maximumBatchingWindowSeconds * 1000,
          reportBatchItemFailures: trigger.reportBatchItemFailures,
          waitTimeSeconds: opts.pollWaitSeconds,
          log,
        }),
      );
    }
    for (const def of service.schedules.filter((s) => s.enabled))
      schedules.push(
        startSchedule({
          def,
          runner,
          intervalMs: opts.scheduleIntervalMs,
          region,
          stackName: service.stackName,
          log,
        }),
      );

    if (opts.worker)
      // No SQS client of the stack's: the worker runs on the credentials its heartbeat vends, as on AWS.
      worker = await startLocalWorker(started.url, tokens.admin, opts.worker);

    const stack: LocalStack = {
      apiUrl: started.url,
      env,
      tokens,
      emulators: {
        // A supervisor that died is started again: the pids are the current ones.
        get supervisorPid() {
          return supervisor.pid;
        },
        get javaPid() {
          return supervisor.javaPid;
        },
        get supervisorRestarts() {
          return supervisor.restarts;
        },
        dynamodbPort: supervisor.dynamodbPort,
        sqsPort: supervisor.sqsPort,
        startMs: supervisor.startMs,
      },
      queueUrls: { ...created.queueUrls },
      ...(started.pushUrl && started.websocket
        ? { push: { url: started.pushUrl, connections: started.websocket } }
        : {}),
      ...(worker ? { worker: { name: worker.name, basedir: worker.basedir } } : {}),
      tallies: () => ({ functions: runner.invocationTally(), aws: endpoint.counter.snapshot() }),
      resetTallies() {
        runner.resetInvocationTally();
        endpoint.counter.reset();
      },
      stop,
    };
    return stack;
  } catch (error) {
    await stop();
    throw error;
  }
}
