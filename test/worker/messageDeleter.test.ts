import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import { requestTally, resetRequestTally, sqsClient } from '../../shared/aws/clients.ts';
import { MessageDeleter } from '../../worker/messageDeleter.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

describe('MessageDeleter against the local SQS emulator', () => {
  let stack: TestStack;
  let queueUrl: string;

  before(async () => {
    stack = await useStack();
    ({ QueueUrl: queueUrl = '' } = await sqsClient().send(
      new CreateQueueCommand({
        QueueName: uniqueName('deleter-test'),
        Attributes: { VisibilityTimeout: '30' },
      }),
    ));
  });
  after(() => stack?.release());

  async function receiveAll(count: number): Promise<Message[]> {
    await sqsClient().send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: count }, (_, i) => ({ Id: String(i), MessageBody: `m${i}` })),
      }),
    );
    const received: Message[] = [];
    while (received.length < count) {
      const { Messages = [] } = await sqsClient().send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      received.push(...Messages);
    }
    return received;
  }

  async function messagesLeft(): Promise<number> {
    const { Attributes = {} } = await sqsClient().send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible)
    );
  }

  it('deletes ten handled messages with one request, and the rest after the delay', async () => {
    // Prepare
    const messages = await receiveAll(10);
    const more = await receiveAll(3);
    const lines: string[] = [];
    const deleter = new MessageDeleter(
      () => sqsClient(),
      () => queueUrl,
      (line) => lines.push(line),
      200,
    );
    resetRequestTally();

    // Act
    await Promise.all(messages.map((m) => deleter.delete(m.ReceiptHandle)));
    const afterFirstTen = requestTally().requests['sqs:DeleteMessageBatchCommand'];
    const startedAt = Date.now();
    await Promise.all(more.map((m) => deleter.delete(m.ReceiptHandle)));
    const waitedMs = Date.now() - startedAt;

    // Assess
    assert.equal(afterFirstTen, 1, 'ten deletes share one request, sent at once');
    assert.equal(requestTally().requests['sqs:DeleteMessageBatchCommand'], 2);
    assert.ok(waitedMs >= 150, `three deletes waited for the delay (${waitedMs} ms)`);
    assert.equal(await messagesLeft(), 0);
    assert.deepEqual(lines, []);
  });

  it('sends what waits when flushed, without waiting for the delay', async () => {
    // Prepare
    const [message] = await receiveAll(1);
    const deleter = new MessageDeleter(
      () => sqsClient(),
      () => queueUrl,
      () => undefined,
      60_000,
    );

    // Act
    const deleted = deleter.delete(message?.ReceiptHandle);
    await deleter.flush();
    await deleted;

    // Assess
    assert.equal(await messagesLeft(), 0);
  });

  it('logs a delete that SQS refuses instead of throwing, so the message can come back and be dropped', async () => {
    // Prepare: a queue that is gone makes SQS refuse the whole request.
    const lines: string[] = [];
    const goneQueue = queueUrl.replace(/[^/]+$/, uniqueName('no-such-queue'));
    const deleter = new MessageDeleter(
      () => sqsClient(),
      () => goneQueue,
      (line) => lines.push(line),
      10,
    );

    // Act
    await deleter.delete('some-receipt-handle');

    // Assess
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0] ?? '', /failed/);
  });
});
