import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient, requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import { LAST_RESULT, recordLastResult, recordLastResults } from '../../shared/commands/lastResult.ts';
import { successEvent } from './helpers.ts';
import type { CompletionEvent } from '../../shared/commands/wire.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { stateKey } from '../../shared/state/keys.ts';
import type { TimingHookPoint } from '../../shared/state/types.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

let stack: TestStack;

before(async () => {
  stack = await useStack();
});

after(async () => {
  await stack?.release();
});

function event(worker: string, n: number, completedAt: string): CompletionEvent {
  return successEvent({ commandId: n.toString(16).padStart(32, '0'), worker, completedAt });
}

async function stored(state: StateConnector, worker: string): Promise<unknown> {
  const objectId = await state.getObjectId(worker, LAST_RESULT.className);
  return state.getState(objectId, LAST_RESULT.stateName, null);
}

/**
 * A connector whose timing seam lets `interject` write through another connector between its first
 * read and its write (Buildbot's _test_timing_hook), recording the seam points it passed.
 */
function racedConnector(interject: () => Promise<void>): { slow: StateConnector; hooked: TimingHookPoint[] } {
  const hooked: TimingHookPoint[] = [];
  const slow = new StateConnector({
    client: dynamoDocumentClient(),
    tableName: stack.env.STATE_TABLE!,
    testTimingHook: async (point) => {
      if (point === 'getObjectId') return;
      hooked.push(point);
      if (hooked.length === 1) await interject();
    },
  });
  return { slow, hooked };
}

describe('the lastResult consumer', () => {
  it('keeps the newer event when an older one is delivered after it', async () => {
    // Prepare
    const state = StateConnector.fromEnv();
    const worker = uniqueName('last');
    const newer = event(worker, 2, '2030-01-01T00:00:02.000Z');
    const older = event(worker, 1, '2030-01-01T00:00:01.000Z');
    // Act
    const first = await recordLastResult(state, newer);
    const late = await recordLastResult(state, older);
    const duplicate = await recordLastResult(state, newer);
    // Assess
    assert.deepEqual([first, late, duplicate], [true, false, false]);
    assert.deepEqual(await stored(state, worker), newer);
  });

  it('does not store an older event when a newer one lands between its read and its write', async () => {
    // Prepare: the timing seam stores the newer event through another connector at the worst moment
    const worker = uniqueName('last');
    const newer = event(worker, 2, '2030-01-01T00:00:02.000Z');
    const older = event(worker, 1, '2030-01-01T00:00:01.000Z');
    const other = StateConnector.fromEnv();
    const { slow, hooked } = racedConnector(async () => {
      assert.equal(await recordLastResult(other, newer), true);
    });
    // Act
    const recorded = await recordLastResult(slow, older);
    // Assess
    assert.equal(recorded, false);
    assert.deepEqual(hooked, ['updateState']);
    assert.deepEqual(await stored(other, worker), newer);
  });

  it('stores a newer event when an older one lands between its read and its write', async () => {
    // Prepare
    const worker = uniqueName('last');
    const newer = event(worker, 2, '2030-01-01T00:00:02.000Z');
    const older = event(worker, 1, '2030-01-01T00:00:01.000Z');
    const other = StateConnector.fromEnv();
    const { slow, hooked } = racedConnector(async () => {
      assert.equal(await recordLastResult(other, older), true);
    });
    // Act
    const recorded = await recordLastResult(slow, newer);
    // Assess: the first write lost to the older event's insert, the second round replaced it
    assert.equal(recorded, true);
    assert.deepEqual(hooked, ['updateState', 'updateState']);
    assert.deepEqual(await stored(other, worker), newer);
  });

  it('orders two commands that ended in the same millisecond by commandId, whatever the delivery order', async () => {
    // Prepare
    const state = StateConnector.fromEnv();
    const [w1, w2] = [uniqueName('tie'), uniqueName('tie')];
    const at = '2030-01-01T00:00:00.000Z';
    // Act
    await recordLastResult(state, event(w1, 1, at));
    await recordLastResult(state, event(w1, 2, at));
    await recordLastResult(state, event(w2, 2, at));
    await recordLastResult(state, event(w2, 1, at));
    // Assess
    assert.deepEqual(await stored(state, w1), event(w1, 2, at));
    assert.deepEqual(await stored(state, w2), event(w2, 2, at));
  });

  it("writes once per worker per batch, the worker's latest event, whatever the order in the batch", async () => {
    // Prepare
    const state = StateConnector.fromEnv();
    const [a, b] = [uniqueName('batch'), uniqueName('batch')];
    await recordLastResult(state, event(a, 1, '2030-01-01T00:00:01.000Z'));
    await state.getObjectId(b, LAST_RESULT.className);
    const records = [
      event(a, 3, '2030-01-01T00:00:03.000Z'),
      event(b, 7, '2030-01-01T00:00:07.000Z'),
      event(a, 4, '2030-01-01T00:00:04.000Z'),
      event(a, 2, '2030-01-01T00:00:02.000Z'),
      event(b, 6, '2030-01-01T00:00:06.000Z'),
    ].map((e, i) => ({ messageId: `m${i}`, event: e }));
    resetRequestTally();
    // Act
    const failed = await recordLastResults(state, records, () => undefined);
    const puts = requestTally().requests['dynamodb:PutItemCommand'];
    // Assess
    assert.deepEqual(failed, []);
    assert.equal(puts, 2);
    assert.deepEqual(await stored(state, a), event(a, 4, '2030-01-01T00:00:04.000Z'));
    assert.deepEqual(await stored(state, b), event(b, 7, '2030-01-01T00:00:07.000Z'));
  });

  it('reports every record of a worker whose write failed, and only those, for redelivery', async () => {
    // Prepare: the broken worker's stored state is not JSON, so updateState fails on it
    const state = StateConnector.fromEnv();
    const [good, broken] = [uniqueName('ok'), uniqueName('bad')];
    const brokenId = await state.getObjectId(broken, LAST_RESULT.className);
    await dynamoDocumentClient().send(
      new PutCommand({
        TableName: stack.env.STATE_TABLE!,
        Item: {
          ...stateKey(brokenId, LAST_RESULT.stateName),
          name: LAST_RESULT.stateName,
          value: '{not json',
        },
      }),
    );
    const records = [
      { messageId: 'g1', event: event(good, 1, '2030-01-01T00:00:01.000Z') },
      { messageId: 'b1', event: event(broken, 2, '2030-01-01T00:00:02.000Z') },
      { messageId: 'b2', event: event(broken, 3, '2030-01-01T00:00:03.000Z') },
    ];
    const errors: string[] = [];
    // Act
    const failed = await recordLastResults(state, records, (worker) => errors.push(worker));
    // Assess
    assert.deepEqual([...failed].sort(), ['b1', 'b2']);
    assert.deepEqual(errors, [broken]);
    assert.deepEqual(await stored(state, good), event(good, 1, '2030-01-01T00:00:01.000Z'));
  });
});
