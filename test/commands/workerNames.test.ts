// Worker names held to what the stage's queue prefix leaves of SQS's 80-character queue name: 400 naming the limit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { ValidationError } from '../../shared/errors.ts';
import * as LIMITS from '../../shared/limits.ts';
import { workerNameMax } from '../../shared/workers/queues.ts';
import { registerWorker } from '../../shared/workers/registry.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

describe('worker names against the queue name', () => {
  it('refuses a name that would make the queue name over 80 characters with 400 naming the longest allowed, storing nothing', async () => {
    // Prepare: a stage whose prefix is 60 characters long leaves 20 for the worker's name
    const ctx = { ...commandsContextFromEnv(), workerQueuePrefix: `bbs-${'s'.repeat(48)}-worker-` };
    const name = `w${'x'.repeat(20)}`;
    // Act
    const refused = await registerWorker(ctx, { name }).catch((error: unknown) => error);
    const queue = await t.h.sqs
      .send(new GetQueueUrlCommand({ QueueName: `${ctx.workerQueuePrefix}${name}` }))
      .catch((error: unknown) => (error as Error).name);
    // Assess
    assert.equal(workerNameMax(ctx), 20);
    assert.ok(refused instanceof ValidationError, String(refused));
    assert.equal(refused.statusCode, 400);
    assert.deepEqual(refused.httpBody().limit, 20);
    assert.match(refused.message, /at most 20/);
    assert.equal(queue, 'QueueDoesNotExist');
  });

  it("allows the API's whole worker name length on a stage of the usual length", () => {
    // Prepare: buildbot-serverless-dev-worker- (31 characters)
    const ctx = { ...commandsContextFromEnv(), workerQueuePrefix: 'buildbot-serverless-dev-worker-' };
    // Act
    const max = workerNameMax(ctx);
    // Assess
    assert.equal(max, LIMITS.workerNameLength);
  });
});
