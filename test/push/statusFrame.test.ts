// A command record as push frames: a completion is one `status` frame carrying its final updates, and a client reads them from it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import type { CommandItem } from '../../shared/commands/items.ts';
import { compactRun, planRuns } from '../../shared/commands/runs.ts';
import { commandFrames } from '../../shared/push/statusFrame.ts';
import type { StatusFrame } from '../../shared/push/wire.ts';

const FINAL: SequencedUpdate[] = [
  [{ stdout: 'done\n' }, 3],
  [{ rc: 0 }, 4],
  [{ elapsed: 0.01 }, 5],
];

/** A completed record as the worker's ending write leaves it, with `finalRun` when given. */
function completedItem(finalUpdates?: SequencedUpdate[]): CommandItem {
  const item: CommandItem = {
    pk: 'CMD#c1',
    sk: 'CMD',
    commandId: 'c1',
    worker: 'w1',
    command: 'shell',
    argsJson: '{}',
    decodeRC: { 0: 0 },
    status: 'complete',
    createdAt: 1_000,
    startedAt: 1_010,
    completedAt: 1_050,
    startTimeoutMs: 60_000,
    heartbeatTimeoutMs: 60_000,
    acked: finalUpdates ? finalUpdates[finalUpdates.length - 1]![1] : 2,
    rc: 0,
    results: 0,
  };
  if (finalUpdates) {
    const run = compactRun(planRuns(finalUpdates)[0]!);
    item.finalRun = { first: run.first, last: run.last, ...run.encoded };
  }
  return item;
}

describe('commandFrames', () => {
  it("posts a completion with a small final run as one status frame carrying the run's updates", () => {
    // Act
    const frames = commandFrames(completedItem(FINAL));

    // Assess
    assert.equal(frames.length, 1, 'one post per subscriber');
    const status = frames[0] as StatusFrame;
    assert.equal(status.type, 'status');
    assert.equal(status.status, 'complete');
    assert.equal(status.acked, 5);
    assert.deepEqual(status.updates, FINAL);
  });

  it('posts a completion without a final run as a bare status frame', () => {
    // Act
    const frames = commandFrames(completedItem());

    // Assess
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.type, 'status');
    assert.equal('updates' in frames[0]!, false);
  });

  it('announces a final run whose text is in S3 before the status, for the client to read', () => {
    // Prepare
    const item = completedItem();
    item.acked = 5;
    item.finalRun = { first: 3, last: 5, bytes: 40_000, obj: 'logs/c1/3', parts: '[]', packed: 900 };

    // Act
    const frames = commandFrames(item);

    // Assess
    assert.deepEqual(
      frames.map((f) => f.type),
      ['acked', 'status'],
    );
    assert.equal('updates' in frames[1]!, false);
  });
});
