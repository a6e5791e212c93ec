// The SQS functions' partial batch answers (Powertools batch processing), which Lambda and local/pollers.ts honour.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { successEvent } from '../commands/helpers.ts';
import { handler as lastResultHandler } from '../../functions/lastResult.ts';
import { messagesToDelete } from '../../local/pollers.ts';
import { dynamoDocumentClient, requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import { LAST_RESULT } from '../../shared/commands/lastResult.ts';
import type { CompletionEvent } from '../../shared/commands/wire.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { stateKey } from '../../shared/state/keys.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { lambdaContext, printed } from './printed.ts';
import { sqsEvent } from './sqsEvent.ts';

let stack: TestStack;

before(async () => {
  stack = await useStack();
});

after(async () => {
  await stack?.release();
});

function completion(worker: string, n: number): CompletionEvent {
  const commandId = n.toString(16).padStart(32, '0');
  return successEvent({ commandId, worker, completedAt: `2030-01-01T00:00:0${n}.000Z` });
}

/** A worker whose stored last result is not JSON, so that every write for it fails. */
async function brokenWorker(state: StateConnector): Promise<string> {
  const worker = uniqueName('broken');
  const objectId = await state.getObjectId(worker, LAST_RESULT.className);
  await dynamoDocumentClient().send(
    new PutCommand({
      TableName: stack.env.STATE_TABLE!,
      Item: { ...stateKey(objectId, LAST_RESULT.stateName), name: LAST_RESULT.stateName, value: '{not json' },
    }),
  );
  return worker;
}

async function stored(state: StateConnector, worker: string): Promise<unknown> {
  const objectId = await state.getObjectId(worker, LAST_RESULT.className);
  return state.getState(objectId, LAST_RESULT.stateName, null);
}

describe('the completions consumer', () => {
  it('answers the records of a worker whose write failed, and only those, writing once per worker', async () => {
    // Prepare
    const state = StateConnector.fromEnv();
    const good = uniqueName('good');
    await state.getObjectId(good, LAST_RESULT.className);
    const broken = await brokenWorker(state);
    const event = sqsEvent({
      g1: JSON.stringify(completion(good, 1)),
      b1: JSON.stringify(completion(broken, 2)),
      g3: JSON.stringify(completion(good, 3)),
      b4: JSON.stringify(completion(broken, 4)),
      junk: 'not an event',
    });
    const context = lambdaContext('lastResult');
    resetRequestTally();
    // Act
    const { result, lines } = await printed(() => lastResultHandler(event, context));
    // Assess
    const failed = result.batchItemFailures.map((failure) => failure.itemIdentifier).sort();
    assert.deepEqual(failed, ['b1', 'b4']);
    assert.equal(requestTally().requests['dynamodb:PutItemCommand'], 1);
    assert.deepEqual(await stored(state, good), completion(good, 3));
    const errors = lines.filter((line) => line.level === 'ERROR');
    assert.equal(errors.length, 1, 'one line per failed worker, not per record');
    assert.equal(errors[0]!.worker, broken);
    assert.equal(errors[0]!.function_request_id, context.awsRequestId);
    // Assess: the local stack's poller deletes the rest and leaves these for redelivery, as Lambda does
    const kept = messagesToDelete(event.Records, result, true).map((record) => record.messageId);
    assert.deepEqual(kept.sort(), ['g1', 'g3', 'junk']);
  });

  it('throws when every record failed, so that Lambda backs off and redelivers the whole batch', async () => {
    // Prepare
    const broken = await brokenWorker(StateConnector.fromEnv());
    const event = sqsEvent({ b1: JSON.stringify(completion(broken, 1)) });
    // Act
    const outcome = printed(() => lastResultHandler(event, lambdaContext('lastResult')));
    // Assess
    await assert.rejects(outcome, { name: 'FullBatchFailureError' });
  });
});
