import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/index.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import type { CompletionEvent, WorkerMessage } from '../../shared/commands/wire.ts';

/** Acting as a worker and a client through the real HTTP API and a real SQS client. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export function apiCaller(stack: LocalStack) {
  return async function call<T = Record<string, unknown>>(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    raw?: { body: string | Buffer; headers?: Record<string, string> },
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...(raw?.headers ?? {}) };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let payload: string | Buffer | undefined = raw?.body;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${stack.apiUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = {};
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  };
}

export function clients(stack: LocalStack) {
  const region = stack.env.AWS_REGION;
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  const sqs = new SQSClient({
    endpoint: stack.env.AWS_ENDPOINT_URL_SQS,
    region,
    credentials,
    useQueueUrlAsEndpoint: false,
  });
  const db = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.env.AWS_ENDPOINT_URL_DYNAMODB, region, credentials }),
  );
  return { sqs, db };
}

/** Receives one message (bounded wait), deleting it unless told not to. */
export async function receiveOne(
  sqs: SQSClient,
  queueUrl: string,
  opts: { keep?: boolean; waitSeconds?: number; visibilityTimeout?: number } = {},
): Promise<WorkerMessage | undefined> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: opts.waitSeconds ?? 2,
      VisibilityTimeout: opts.visibilityTimeout,
    }),
  );
  const message = Messages[0];
  if (!message) return undefined;
  if (!opts.keep)
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
  return JSON.parse(message.Body ?? '{}') as WorkerMessage;
}

/** Every item stored under a command's pk (the record and its update runs). */
export async function commandItems(db: DynamoDBDocumentClient, tableName: string, commandId: string) {
  const { Items = [] } = await db.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `CMD#${commandId}` },
      ConsistentRead: true,
    }),
  );
  return Items;
}

/** Polls `probe` until it returns a value, for at most `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 8000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The completion event the lastResult consumer recorded for `worker` (it came through the completions queue). */
export async function lastResultOf(worker: string, commandId: string): Promise<CompletionEvent> {
  const state = StateConnector.fromEnv();
  const objectId = await state.getObjectId(worker, 'WorkerLastResult');
  return waitFor(
    async () => {
      const event = (await state.getState(objectId, 'lastResult', null)) as CompletionEvent | null;
      return event?.commandId === commandId ? event : undefined;
    },
    8000,
    `the completion event of ${commandId}`,
  );
}

let counter = 0;
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

export interface TestWorker {
  name: string;
  token: string;
  queueUrl: string;
}

/** The moves of a test: an online worker, a started command, a claimed command. */
export function harness(stack: LocalStack) {
  const call = apiCaller(stack);
  const { sqs, db } = clients(stack);
  const table = stack.env.COMMANDS_TABLE!;

  async function registeredWorker(prefix = 'w'): Promise<TestWorker> {
    const name = uniqueName(prefix);
    const registered = await call<TestWorker>(stack.tokens.admin, 'POST', '/v1/workers', { name });
    if (registered.status !== 201)
      throw new Error(`register answered ${registered.status}: ${registered.text}`);
    return registered.body;
  }

  async function onlineWorker(commands = ['shell', 'mkdir']): Promise<TestWorker> {
    const worker = await registeredWorker();
    const beat = await call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, { commands });
    if (beat.status !== 200) throw new Error(`heartbeat answered ${beat.status}: ${beat.text}`);
    return worker;
  }

  async function startCommand(worker: TestWorker, extra: Record<string, unknown> = {}): Promise<string> {
    const started = await call<{ commandId: string }>(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'shell',
      args: { command: ['true'] },
      ...extra,
    });
    if (started.status !== 202) throw new Error(`start answered ${started.status}: ${started.text}`);
    return started.body.commandId;
  }

  async function claimed(worker: TestWorker, extra: Record<string, unknown> = {}): Promise<string> {
    const commandId = await startCommand(worker, extra);
    const message = await receiveOne(sqs, worker.queueUrl);
    if (message?.commandId !== commandId)
      throw new Error(`expected the message of ${commandId} on the queue`);
    const claim = await call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    if (claim.status !== 200) throw new Error(`claim answered ${claim.status}: ${claim.text}`);
    return commandId;
  }

  return { call, sqs, db, table, registeredWorker, onlineWorker, startCommand, claimed };
}
