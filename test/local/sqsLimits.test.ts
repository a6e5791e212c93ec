// fauxqs with the SQS refusals it lacks (local/sqsLimits.ts): a name deleted recently cannot be created again yet.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateQueueCommand, DeleteQueueCommand, QueueDeletedRecently, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { modelQueueDeletedRecently } from '../../local/sqsLimits.ts';

describe('QueueDeletedRecently on the local SQS', () => {
  let app: ReturnType<typeof buildApp>;
  let sqs: SQSClient;
  let clock = 1_000_000;

  before(async () => {
    // A fauxqs of this file's own, with a clock the test moves.
    app = buildApp({ logger: false, host: 'localhost' });
    modelQueueDeletedRecently(app, { now: () => clock });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    sqs = new SQSClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
  });
  after(async () => {
    sqs?.destroy();
    await app?.close();
  });

  it('refuses to create a queue of a name deleted less than 60 s ago, as SQS does, and creates it after', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'reused' }));
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
    // Act
    clock += 59_000;
    const early = await sqs
      .send(new CreateQueueCommand({ QueueName: 'reused' }))
      .catch((error: unknown) => error);
    const other = await sqs.send(new CreateQueueCommand({ QueueName: 'never-deleted' }));
    clock += 1_000;
    const later = await sqs.send(new CreateQueueCommand({ QueueName: 'reused' }));
    // Assess: the SDK's own class, from the error type and query code the answer carries
    assert.ok(early instanceof QueueDeletedRecently, String(early));
    assert.equal(early.$metadata.httpStatusCode, 400);
    assert.match(other.QueueUrl ?? '', /never-deleted$/);
    assert.match(later.QueueUrl ?? '', /reused$/);
  });

  it('does not count a DeleteQueue that failed (no such queue)', async () => {
    // Act
    await assert.rejects(
      sqs.send(new DeleteQueueCommand({ QueueUrl: 'http://sqs.us-east-1.localhost/000000000000/missing' })),
    );
    const created = await sqs.send(new CreateQueueCommand({ QueueName: 'missing' }));
    // Assess
    assert.match(created.QueueUrl ?? '', /missing$/);
  });
});
