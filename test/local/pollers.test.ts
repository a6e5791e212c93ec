import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { FunctionRunner } from '../../local/handlers.ts';
import { messagesToDelete, startPoller } from '../../local/pollers.ts';
import { RequestCounter } from '../../shared/aws/requestCounter.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { batches } from './fixtures/recordingHandler.ts';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));

function records(...ids: string[]): SQSRecord[] {
  return ids.map((id) => ({ messageId: id, receiptHandle: `rh-${id}` }) as SQSRecord);
}

describe('which messages a poller deletes after a successful invocation', () => {
  it('deletes the whole batch without ReportBatchItemFailures, whatever the function returned', () => {
    // Act
    const deleted = messagesToDelete(
      records('a', 'b'),
      { batchItemFailures: [{ itemIdentifier: 'a' }] },
      false,
    );

    // Assess
    assert.deepEqual(
      deleted.map((record) => record.messageId),
      ['a', 'b'],
    );
  });

  it('deletes all but the reported failures', () => {
    // Act
    const deleted = messagesToDelete(
      records('a', 'b', 'c'),
      { batchItemFailures: [{ itemIdentifier: 'b' }] },
      true,
    );

    // Assess
    assert.deepEqual(
      deleted.map((record) => record.messageId),
      ['a', 'c'],
    );
  });

  it('deletes everything when the response is empty or has no failures', () => {
    // Act / Assess
    assert.equal(messagesToDelete(records('a'), undefined, true).length, 1);
    assert.equal(messagesToDelete(records('a'), { batchItemFailures: [] }, true).length, 1);
  });

  it('deletes nothing when a failure names an unknown, empty or missing identifier, as Lambda does', () => {
    // Act / Assess
    assert.equal(
      messagesToDelete(records('a', 'b'), { batchItemFailures: [{ itemIdentifier: 'zz' }] }, true).length,
      0,
    );
    assert.equal(
      messagesToDelete(records('a', 'b'), { batchItemFailures: [{ itemIdentifier: '' }] }, true).length,
      0,
    );
    assert.equal(messagesToDelete(records('a', 'b'), { batchItemFailures: [{}] }, true).length, 0);
    assert.equal(messagesToDelete(records('a', 'b'), { batchItemFailures: 'bad' }, true).length, 0);
  });
});

describe('a poller with a batching window, against fauxqs', () => {
  let stack: TestStack;
  let sqs: SQSClient;
  const counter = new RequestCounter();

  before(async () => {
    // Its pollers run in this process, on queues of its own: the stack's fauxqs is all it needs, shared or not.
    stack = await useStack();
    sqs = new SQSClient({
      endpoint: stack.env.AWS_ENDPOINT_URL_SQS,
      region: stack.env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
    counter.count(sqs, 'sqs');
  });

  after(async () => {
    sqs?.destroy();
    await stack?.release();
  });

  /**
   * A queue of its own and a poller on it. A 2 s visibility timeout, so that an undeleted message shows again
   * soon; it must outlast the batching window, or the window's first messages come back into the same batch.
   */
  async function polledQueue(batchSize: number, maximumBatchingWindowMs: number) {
    const name = `poller-${process.pid}-${Date.now()}`;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '2' } }),
    );
    const runner = new FunctionRunner({
      serviceDir: fixtures,
      stackName: 'pollers-test',
      region: stack.env.AWS_REGION!,
      functions: { recorder: { name: 'recorder', handler: 'recordingHandler.handler', timeoutSeconds: 10 } },
    });
    const poller = startPoller({
      sqs,
      runner,
      functionName: 'recorder',
      queueUrl: QueueUrl!,
      queueArn: `arn:aws:sqs:${stack.env.AWS_REGION}:000000000000:${name}`,
      region: stack.env.AWS_REGION!,
      batchSize,
      maximumBatchingWindowMs,
      reportBatchItemFailures: true,
      waitTimeSeconds: 1,
      log: () => undefined,
    });
    const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    const left = async () =>
      (await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 })))
        .Messages ?? [];
    return { poller, send, left };
  }

  it('gathers the messages of the window into one invocation and deletes them 10 to a DeleteMessageBatch', async () => {
    // Prepare
    const { poller, send, left } = await polledQueue(100, 1500);
    batches.length = 0;
    counter.reset();
    // Act: 12 messages trickle in over about half a second
    for (let i = 0; i < 12; i++) {
      await send(`m${i}`);
      await sleep(40);
    }
    await waitUntil(() => batches.length > 0, 5000);
    await sleep(2500);
    const remaining = await left();
    await poller.stop();
    // Assess
    assert.equal(batches.length, 1);
    assert.deepEqual([...batches[0]!.bodies].sort(), Array.from({ length: 12 }, (_, i) => `m${i}`).sort());
    assert.equal(counter.snapshot().requests['sqs:DeleteMessageBatchCommand'], 2);
    assert.deepEqual(remaining, []);
  });

  it('invokes as soon as the batch is full, without waiting out the window', async () => {
    // Prepare
    const { poller, send } = await polledQueue(3, 20_000);
    batches.length = 0;
    // Act
    const sentAt = Date.now();
    for (let i = 0; i < 3; i++) await send(`f${i}`);
    await waitUntil(() => batches.length > 0, 5000);
    await poller.stop();
    // Assess
    assert.equal(batches[0]!.bodies.length, 3);
    assert.ok(batches[0]!.at - sentAt < 3000, `invoked ${batches[0]!.at - sentAt} ms after the sends`);
  });
});

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await sleep(50);
}
