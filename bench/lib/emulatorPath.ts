// Owns the dispatch benchmark's emulator floor: the critical path's calls, bare.
import { randomBytes } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { endingUpdate } from '../../shared/commands/completions.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import { bareServer, loopbackRoundTrip, spawnTrue } from './floors.ts';

/**
 * The dispatch benchmark's emulator floor: the calls the critical path of one trivial command must make
 * (shared/commands/start.ts, claim.ts and complete.ts; the worker's long poll), bare,
 * one after the other (the long poll waiting before the send, as in the system), through the same SDK
 * clients as the handlers, up to the moment completedAt is stamped. What POST → completion recorded adds
 * above it is our code: the gateway, the handlers, the worker's loop, the SDK calls' surroundings.
 *
 * Left out, on purpose: the completion event's SendMessage and the clear of its mark (after completedAt),
 * the worker's DeleteMessage (batched, while the command runs), the authorizer (cached), the worker
 * record's read (cached by loadWorkerForDispatch) and the complete's read of the command record (the
 * claim's copy, shared/commands/recordCache.ts).
 */
export const EMULATOR_PATH_STEPS = [
  { key: 'postRoundTrip', call: 'HTTP round trip on loopback: POST /v1/commands' },
  { key: 'putRecord', call: 'DynamoDB PutItem: the queued record, if attribute_not_exists(pk)' },
  {
    key: 'sendReceive',
    call: "SQS SendMessage of the command message, until the worker's waiting ReceiveMessage (long poll) returns it",
  },
  { key: 'claimRoundTrip', call: 'HTTP round trip on loopback: POST /v1/commands/{id}/start' },
  { key: 'claimUpdate', call: 'DynamoDB UpdateItem: the claim, if queued and ours, ReturnValues ALL_NEW' },
  { key: 'spawnTrue', call: 'spawn `true` and wait for its exit' },
  { key: 'completeRoundTrip', call: 'HTTP round trip on loopback: POST /v1/commands/{id}/complete' },
  {
    key: 'endingUpdate',
    call:
      'DynamoDB UpdateItem: the ending write with the final run, if running and acked, ALL_NEW ' +
      '(timed, but not in the total: completedAt is stamped before it is sent)',
  },
] as const;

export type EmulatorPathStep = (typeof EMULATOR_PATH_STEPS)[number]['key'];

export interface EmulatorPathOptions {
  db: DynamoDBDocumentClient;
  sqs: SQSClient;
  tableName: string;
  /**
   * A real completed record of the trivial command: the floor writes records of the same attributes and
   * sizes (args, decodeRC, the final run the ending write stores).
   */
  template: Record<string, unknown>;
}

export interface EmulatorPathSamples {
  /** From the POST's round trip to the moment the ending write is sent (where completedAt is stamped). */
  totalMs: number[];
  stepMs: Record<EmulatorPathStep, number[]>;
}

class FloorQueueError extends Error {
  constructor() {
    super('CreateQueue for the emulator floor returned no QueueUrl');
    this.name = 'FloorQueueError';
  }
}

/** The attributes startCommand writes, taken from the template (a fresh id and times). */
function queuedRecord(template: Record<string, unknown>, commandId: string, now: number) {
  return {
    ...commandKey(commandId),
    commandId,
    worker: template.worker,
    command: template.command,
    argsJson: template.argsJson,
    decodeRC: template.decodeRC,
    status: 'queued',
    createdAt: now,
    startTimeoutMs: template.startTimeoutMs,
    heartbeatTimeoutMs: template.heartbeatTimeoutMs,
    acked: -1,
    dueShard: template.dueShard,
    deadline: now + Number(template.startTimeoutMs),
  };
}

/** The worker's ending write (complete.ts workerEnding) with the template's outcome and final run. */
function endingWrite(
  template: Record<string, unknown>,
  now: number,
  readDeadline: number,
): { expression: string; values: Record<string, unknown> } {
  const { sets, values } = endingUpdate(now, { results: Number(template.results) }, readDeadline);
  sets.push('acked = :acked');
  values[':acked'] = template.acked;
  for (const field of ['rc', 'elapsed', 'finalRun'] as const)
    if (template[field] !== undefined) {
      sets.push(`${field} = :${field}`);
      values[`:${field}`] = template[field];
    }
  let expression = `SET ${sets.join(', ')}`;
  if (template.logNames instanceof Set && template.logNames.size > 0) {
    expression += ' ADD logNames :logNames';
    values[':logNames'] = template.logNames;
  }
  return { expression, values };
}

/**
 * The path, ready to run one sample at a time, so that a benchmark can interleave its samples with the
 * runs they are the floor of (both then see the same load). close() removes the floor's queue.
 */
export interface EmulatorPath {
  sample(): Promise<void>;
  readonly samples: EmulatorPathSamples;
  close(): Promise<void>;
}

export async function openEmulatorPath(opts: EmulatorPathOptions): Promise<EmulatorPath> {
  const { db, sqs, tableName, template } = opts;
  const { QueueUrl: queueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: `bench-floor-${randomBytes(4).toString('hex')}` }),
  );
  if (!queueUrl) throw new FloorQueueError();
  const server = await bareServer();
  const samples: EmulatorPathSamples = {
    totalMs: [],
    stepMs: Object.fromEntries(EMULATOR_PATH_STEPS.map(({ key }) => [key, [] as number[]])) as Record<
      EmulatorPathStep,
      number[]
    >,
  };
  async function step<T>(key: EmulatorPathStep, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const result = await call();
    samples.stepMs[key].push(performance.now() - start);
    return result;
  }
  async function sample(): Promise<void> {
    const commandId = randomBytes(16).toString('hex');
    const key = commandKey(commandId);
    const start = performance.now();
    await step('postRoundTrip', () => loopbackRoundTrip(server.url));
    const record = queuedRecord(template, commandId, Date.now());
    await step('putRecord', () =>
      db.send(
        new PutCommand({
          TableName: tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(pk)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    // The worker's long poll is already waiting when the handler sends: the receive starts first, and
    // the step ends when it returns with the message.
    const receiving = sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 1 }),
    );
    const received = await step('sendReceive', async () => {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify({
            type: 'command',
            commandId,
            command: record.command,
            args: JSON.parse(String(record.argsJson)) as unknown,
            heartbeatTimeout: Number(record.heartbeatTimeoutMs) / 1000,
          }),
        }),
      );
      return receiving;
    });
    await step('claimRoundTrip', () => loopbackRoundTrip(server.url));
    await step('claimUpdate', () =>
      db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: 'SET #status = :running, startedAt = :now',
          ConditionExpression:
            '#status = :queued AND worker = :worker AND startTimeoutMs <= heartbeatTimeoutMs',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':worker': record.worker,
            ':now': Date.now(),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    await step('spawnTrue', spawnTrue);
    await step('completeRoundTrip', () => loopbackRoundTrip(server.url));
    // completedAt is stamped before the ending write is sent: the figure's span ends here.
    samples.totalMs.push(performance.now() - start);
    const ending = endingWrite(template, Date.now(), record.deadline);
    await step('endingUpdate', () =>
      db.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: ending.expression,
          ConditionExpression: '#status = :running AND acked = :prev',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ...ending.values, ':running': 'running', ':prev': -1 },
          ReturnValues: 'ALL_NEW',
        }),
      ),
    );
    // Clean-up is outside the figure: the worker deletes in batches while the command runs, and the
    // floor's records must not reach the watchdog.
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: received.Messages?.[0]?.ReceiptHandle }),
    );
    await db.send(new DeleteCommand({ TableName: tableName, Key: key }));
  }
  return {
    sample,
    samples,
    async close() {
      await server.close();
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    },
  };
}
