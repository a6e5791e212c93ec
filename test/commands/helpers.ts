// The command suites' moves: an online worker, a started and a claimed command, and reads of what was stored.
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LAST_RESULT } from '../../shared/commands/lastResult.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import type { CompletionEvent, WorkerMessage } from '../../shared/commands/wire.ts';
import { apiCaller, expectStatus, registerWorker } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { stackFixture } from '../support/fixture.ts';
import type { StackAddress, TestStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

/** SDK clients of this test's own on the stack's emulators (apart from the process-wide ones in shared/aws/clients.ts). */
export function clients(stack: StackAddress) {
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

/** The completion event the lastResult consumer recorded for `worker` (it came through the completions queue). */
export async function lastResultOf(worker: string, commandId: string): Promise<CompletionEvent> {
  const state = StateConnector.fromEnv();
  const objectId = await state.getObjectId(worker, LAST_RESULT.className);
  return waitFor(
    `the completion event of ${commandId}`,
    async () => {
      const event = (await state.getState(objectId, LAST_RESULT.stateName, null)) as CompletionEvent | null;
      return event?.commandId === commandId ? event : undefined;
    },
    8000,
  );
}

/** A shell command's successful completion event, as complete publishes it to the completions queue. */
export function successEvent(
  fields: Pick<CompletionEvent, 'commandId' | 'worker' | 'completedAt'>,
): CompletionEvent {
  const { commandId, worker, completedAt } = fields;
  return {
    commandId,
    worker,
    command: 'shell',
    status: 'complete',
    results: RESULTS.SUCCESS,
    rc: 0,
    failure: null,
    startedAt: null,
    completedAt,
  };
}

export type TestWorker = RegisteredWorker;

/** The moves of a test: an online worker, a started command, a claimed command. */
export function harness(stack: StackAddress) {
  const call = apiCaller(stack);
  const { sqs, db } = clients(stack);
  const table = stack.env.COMMANDS_TABLE!;

  function registeredWorker(prefix = 'w'): Promise<TestWorker> {
    return registerWorker(stack, prefix);
  }

  async function onlineWorker(commands = ['shell', 'mkdir']): Promise<TestWorker> {
    const worker = await registeredWorker();
    const beat = await call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, { commands });
    expectStatus(beat, 200, 'heartbeat');
    return worker;
  }

  async function startCommand(worker: TestWorker, extra: Record<string, unknown> = {}): Promise<string> {
    const started = await call<{ commandId: string }>(stack.tokens.client, 'POST', '/v1/commands', {
      worker: worker.name,
      command: 'shell',
      args: { command: ['true'] },
      ...extra,
    });
    return expectStatus(started, 202, 'start').commandId;
  }

  async function claimed(worker: TestWorker, extra: Record<string, unknown> = {}): Promise<string> {
    const commandId = await startCommand(worker, extra);
    const message = await receiveOne(sqs, worker.queueUrl);
    if (message?.commandId !== commandId)
      throw new Error(`expected the message of ${commandId} on the queue`);
    const claim = await call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    expectStatus(claim, 200, 'claim');
    return commandId;
  }

  return { call, sqs, db, table, registeredWorker, onlineWorker, startCommand, claimed };
}

export type Harness = ReturnType<typeof harness>;

/** The file's stack (stackFixture's hooks) and a harness on it, made on first use inside a test or hook. */
export function commandsFixture(start: () => Promise<TestStack>): {
  readonly stack: TestStack;
  readonly h: Harness;
} {
  const fixture = stackFixture(start);
  let h: Harness | undefined;
  return {
    get stack() {
      return fixture.stack;
    },
    get h() {
      return (h ??= harness(fixture.stack));
    },
  };
}
