import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { entriesOf } from '../fixtures/functions/journal.ts';
import { TICK_MS, tickerStats } from '../fixtures/functions/ticker.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/serverless.yml', import.meta.url));
const SCHEDULE_INTERVAL_MS = 100;

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((wake) => setTimeout(wake, 25));
  }
}

/** Every delivery the fixture consumer `fn` saw, as `<body> #<receive count>`. */
function deliveries(fn: string): string[] {
  return entriesOf(fn).flatMap((entry) =>
    (entry.event as SQSEvent).Records.map(
      (record) => `${record.body} #${record.attributes.ApproximateReceiveCount}`,
    ),
  );
}

describe('local SQS triggers and schedules', () => {
  let stack: LocalStack;
  let sqs: SQSClient;
  const logged: string[] = [];

  before(async () => {
    // A stack of its own: the fixture service's consumers and its 100 ms schedules run in this process, whose journal
    // the tests read.
    stack = await startLocalStack({
      serverlessFile: FIXTURE,
      scheduleIntervalMs: SCHEDULE_INTERVAL_MS,
      log: (line) => logged.push(line),
    });
    sqs = new SQSClient({
      endpoint: stack.env.AWS_ENDPOINT_URL_SQS,
      region: stack.env.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
  });
  after(async () => {
    sqs?.destroy();
    await stack?.stop();
  });

  async function queueDepth(queueUrl: string): Promise<number> {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes?.ApproximateNumberOfMessages) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible)
    );
  }

  it('redelivers exactly the reported batchItemFailures and deletes the rest', async () => {
    // Prepare
    const queueUrl = stack.queueUrls['bbs-fixture-local-partial'] as string;
    const bodies = ['ok-1', 'fail-1', 'ok-2', 'fail-2'].map((id) =>
      JSON.stringify({ id, fail: id.startsWith('fail') }),
    );

    // Act
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.map((body, i) => ({ Id: String(i), MessageBody: body })),
      }),
    );
    await waitFor('the failed messages to come back', () => deliveries('partial').length >= 6, 10_000);
    // Longer than the queue's visibility timeout (1 s): anything not deleted would be seen again.
    await new Promise((wake) => setTimeout(wake, 1500));

    // Assess
    const seen = deliveries('partial').sort();
    assert.deepEqual(
      seen,
      [
        `${bodies[1]} #1`,
        `${bodies[1]} #2`,
        `${bodies[3]} #1`,
        `${bodies[3]} #2`,
        `${bodies[0]} #1`,
        `${bodies[2]} #1`,
      ].sort(),
    );
    assert.equal(await queueDepth(queueUrl), 0);
    const record = (entriesOf('partial')[0]?.event as SQSEvent).Records[0];
    assert.equal(record?.eventSource, 'aws:sqs');
    assert.equal(record?.eventSourceARN, 'arn:aws:sqs:us-east-1:000000000000:bbs-fixture-local-partial');
    assert.equal(record?.awsRegion, 'us-east-1');
    assert.match(record?.md5OfBody ?? '', /^[0-9a-f]{32}$/);
  });

  it('deletes nothing when the function throws, so the batch comes back', async () => {
    // Prepare
    const queueUrl = stack.queueUrls['bbs-fixture-local-throw'] as string;

    // Act
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: 'again',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'retry' } },
      }),
    );
    await waitFor('the second delivery', () => deliveries('thrower').length >= 2, 10_000);
    await waitFor('the queue to drain', async () => (await queueDepth(queueUrl)) === 0, 5000);

    // Assess
    assert.deepEqual(deliveries('thrower').slice(0, 2), ['again #1', 'again #2']);
    assert.ok(logged.some((line) => line.includes('fixture consumer failure')));
    const record = (entriesOf('thrower')[0]?.event as SQSEvent).Records[0];
    assert.deepEqual(record?.messageAttributes.kind, {
      dataType: 'String',
      stringValue: 'retry',
      stringListValues: [],
      binaryListValues: [],
    });
  });

  it('runs a schedule repeatedly, never overlapping itself, and skips disabled schedules', async () => {
    // Prepare
    const before = entriesOf('ticker').length;

    // Act
    await waitFor('three more ticks', () => entriesOf('ticker').length >= before + 3, 5000);

    // Assess
    const ticks = entriesOf('ticker').map((entry) => entry.at);
    // The ticker takes longer than the interval: each tick starts only after the previous one ended.
    for (let i = 1; i < ticks.length; i++)
      assert.ok((ticks[i] as number) - (ticks[i - 1] as number) >= TICK_MS - 5);
    assert.equal(tickerStats.maxConcurrent, 1);
    assert.equal(entriesOf('idle').length, 0);
    const event = entriesOf('ticker')[0]?.event as { source: string; 'detail-type': string };
    assert.equal(event.source, 'aws.events');
    assert.equal(event['detail-type'], 'Scheduled Event');
  });
});
