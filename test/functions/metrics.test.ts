// The functions' EMF metrics: commands started, commands ended by result and failure kind, update bytes ingested.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { handler as commandsHandler } from '../../functions/commands.ts';
import { handler as dlqConsumerHandler } from '../../functions/dlqConsumer.ts';
import type { HttpEvent } from '../../functions/lib/http.ts';
import { handler as workerApiHandler } from '../../functions/workerApi.ts';
import type { AuthorizerContext } from '../../shared/auth/types.ts';
import * as ENV from '../../shared/config.ts';
import { METRIC_NAMES, OBSERVABILITY_DEFAULTS, metricsEnabled } from '../../shared/observability.ts';
import { apiCaller, expectStatus, registerWorker } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { clients } from '../commands/helpers.ts';
import { emfLines, lambdaContext, metricLines, printed } from './printed.ts';
import type { PrintedLine } from './printed.ts';

let stack: TestStack;

before(async () => {
  stack = await useStack();
  // Off by default outside Lambda (shared/observability.ts); these tests ask for them as a user would.
  process.env[ENV.powertoolsMetricsDisabled] = 'false';
});

after(async () => {
  delete process.env[ENV.powertoolsMetricsDisabled];
  await stack?.release();
});

/** An HTTP API event as the gateway hands it to a route function, from `principal`. */
function httpEvent(
  principal: Pick<AuthorizerContext, 'role' | 'worker'>,
  routeKey: string,
  params: Record<string, string>,
  body?: unknown,
): HttpEvent {
  return {
    version: '2.0',
    routeKey,
    rawPath: '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    pathParameters: params,
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      requestId: 'api-request',
      authorizer: { lambda: { ...principal, caller: `caller-${principal.role}` } },
    },
  } as unknown as HttpEvent;
}

const CLIENT = { role: 'client', worker: '' } as const;

async function onlineWorker(): Promise<RegisteredWorker> {
  const worker = await registerWorker(stack, 'metrics');
  const beat = await apiCaller(stack)(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
    commands: ['shell'],
  });
  expectStatus(beat, 200, 'heartbeat');
  return worker;
}

/** Invokes a route function as API Gateway would; its status must be `status`. */
async function call(
  handler: typeof commandsHandler,
  event: HttpEvent,
  status: number,
): Promise<{ body: Record<string, unknown>; lines: PrintedLine[] }> {
  const { result, lines } = await printed(() => handler(event, lambdaContext('test')));
  assert.equal(result.statusCode, status, `${event.routeKey}: ${String(result.body)}`);
  return { body: JSON.parse(String(result.body || '{}')) as Record<string, unknown>, lines };
}

function startRequest(worker: string) {
  return httpEvent(
    CLIENT,
    'POST /v1/commands',
    {},
    { worker, command: 'shell', args: { command: ['true'] } },
  );
}

/** The sum of metric `name` over `lines`, where every dimension in `dimensions` has its value. */
function total(lines: PrintedLine[], name: string, dimensions: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metricLines(lines, name)) {
    if (Object.entries(dimensions).some(([key, value]) => line[key] !== value)) continue;
    const value = line[name] as number | number[];
    sum += Array.isArray(value) ? value.reduce((a, b) => a + b, 0) : value;
  }
  return sum;
}

describe('metrics', () => {
  it('are on by default on Lambda only, and POWERTOOLS_METRICS_DISABLED decides either way', () => {
    assert.equal(metricsEnabled({}), false);
    assert.equal(metricsEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'f' }), true);
    assert.equal(
      metricsEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'f', POWERTOOLS_METRICS_DISABLED: 'true' }),
      false,
    );
    assert.equal(metricsEnabled({ POWERTOOLS_METRICS_DISABLED: 'false' }), true);
  });

  it('count a started command, the bytes of its new updates and its ending, one EMF line per invocation', async () => {
    // Prepare
    const worker = await onlineWorker();
    const asWorker = { role: 'worker', worker: worker.name } as const;
    const updates = {
      updates: [
        [{ stdout: 'hello\n' }, 0],
        [{ rc: 0 }, 1],
      ],
    };
    const fragment = JSON.stringify(updates).slice('{"updates":['.length, -2);
    // Act
    const start = await call(commandsHandler, startRequest(worker.name), 202);
    const id = String(start.body.commandId);
    await call(workerApiHandler, httpEvent(asWorker, 'POST /v1/commands/{id}/start', { id }), 200);
    const route = 'POST /v1/commands/{id}/updates';
    const sent = await call(workerApiHandler, httpEvent(asWorker, route, { id }, updates), 200);
    const resent = await call(workerApiHandler, httpEvent(asWorker, route, { id }, updates), 200);
    const complete = await call(
      workerApiHandler,
      httpEvent(asWorker, 'POST /v1/commands/{id}/complete', { id }, { lastSeq: 1 }),
      200,
    );
    // Assess
    assert.equal(emfLines(start.lines).length, 1);
    assert.equal(total(start.lines, METRIC_NAMES.commandsStarted), 1);
    const [emf] = emfLines(start.lines) as [PrintedLine];
    const aws = emf._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    assert.equal(aws.CloudWatchMetrics[0]!.Namespace, stack.env[ENV.powertoolsMetricsNamespace]);
    assert.deepEqual(aws.CloudWatchMetrics[0]!.Dimensions, [['service']]);
    assert.ok(String(emf.service).startsWith(OBSERVABILITY_DEFAULTS.serviceName));
    assert.equal(total(sent.lines, METRIC_NAMES.updateBytesIngested), Buffer.byteLength(fragment));
    assert.equal(total(resent.lines, METRIC_NAMES.updateBytesIngested), 0);
    assert.equal(emfLines(resent.lines).length, 0);
    assert.equal(
      total(complete.lines, METRIC_NAMES.commandsEnded, { result: 'SUCCESS', failureKind: 'none' }),
      1,
    );
  });

  it('count an ending by whoever ends it: an interrupt, a start on an offline worker, the DLQ', async () => {
    // Prepare
    const online = await onlineWorker();
    const offline = await registerWorker(stack, 'metrics-offline');
    const interrupted = await call(commandsHandler, startRequest(online.name), 202);
    const lettered = await call(commandsHandler, startRequest(online.name), 202);
    const { sqs } = clients(stack);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: online.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
    );
    const letter = Messages.find((message) => message.Body?.includes(String(lettered.body.commandId)));
    assert.ok(letter, 'the command message on the worker queue');
    const dlqEvent: SQSEvent = {
      Records: [
        {
          messageId: letter.MessageId ?? 'm',
          receiptHandle: letter.ReceiptHandle ?? 'r',
          body: letter.Body ?? '',
          attributes: {} as SQSEvent['Records'][number]['attributes'],
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:dlq',
          awsRegion: 'us-east-1',
        },
      ],
    };
    const interruptRoute = 'POST /v1/commands/{id}/interrupt';
    // Act
    const interrupt = await call(
      commandsHandler,
      httpEvent(CLIENT, interruptRoute, { id: String(interrupted.body.commandId) }, { why: 'test' }),
      200,
    );
    const offlineStart = await call(commandsHandler, startRequest(offline.name), 202);
    const dlq = await printed(() => dlqConsumerHandler(dlqEvent, lambdaContext('dlqConsumer')));
    // Assess
    const cancelled = { result: 'CANCELLED', failureKind: 'interrupted' };
    assert.equal(total(interrupt.lines, METRIC_NAMES.commandsEnded, cancelled), 1);
    assert.equal(total(offlineStart.lines, METRIC_NAMES.commandsStarted), 1);
    const lost = { result: 'RETRY', failureKind: 'worker_lost_before_start' };
    assert.equal(total(offlineStart.lines, METRIC_NAMES.commandsEnded, lost), 1);
    assert.deepEqual(dlq.result, { batchItemFailures: [] });
    const undeliverable = { result: 'EXCEPTION', failureKind: 'undeliverable' };
    assert.equal(total(dlq.lines, METRIC_NAMES.commandsEnded, undeliverable), 1);
    const ended = metricLines(dlq.lines, METRIC_NAMES.commandsEnded)[0]!._aws as {
      CloudWatchMetrics: { Dimensions: string[][] }[];
    };
    assert.deepEqual(ended.CloudWatchMetrics[0]!.Dimensions, [['service', 'result', 'failureKind']]);
  });
});
