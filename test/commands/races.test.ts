import assert from 'node:assert/strict';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { after, before, describe, it } from 'node:test';
import { LAST_RESULT } from '../../shared/commands/lastResult.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import type { CommandView, CompletionEvent } from '../../shared/commands/wire.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { commandItems, harness, receiveOne, successEvent } from './helpers.ts';
import type { TestWorker } from './helpers.ts';
import type { RacerJob, RacerResult } from './racer.ts';
import { startRacerPool } from './racerPool.ts';
import type { RacerPool } from './racerPool.ts';

/**
 * Conditional-write races between real OS processes (racer.ts), each standing in for one Lambda instance.
 * The racers publish completion events to a queue of this file's own, which nothing else consumes, so
 * that the test can count them.
 */
const PROCESSES = 4;
const CALLERS = 4;
const ROUNDS = 4;
/**
 * The commands raced with the watchdog wait this long for a heartbeat; the racing watchdog's clock runs
 * WATCHDOG_AHEAD_MS ahead, just past it. The stack's own watchdog (real time) comes 8 s later, long after
 * the race; and the racing watchdog's clock stays before the 10 s event re-send deadline of an ending,
 * so that a re-send (at least once, by design) is not mistaken for a second outcome.
 */
const HEARTBEAT_TIMEOUT_S = 8;
const WATCHDOG_AHEAD_MS = 9000;

let stack: TestStack;
let h: ReturnType<typeof harness>;
let pool: RacerPool;
let completionsQueueUrl: string;
/** Every completion event the racers published, by commandId. */
const events = new Map<string, CompletionEvent[]>();

before(async () => {
  stack = await useStack();
  h = harness(stack);
  const created = await h.sqs.send(
    new CreateQueueCommand({ QueueName: `${stack.env.SERVICE_NAME}-racer-completions-${process.pid}` }),
  );
  completionsQueueUrl = created.QueueUrl!;
  pool = await startRacerPool(PROCESSES, { ...stack.env, COMPLETIONS_QUEUE_URL: completionsQueueUrl });
});

after(async () => {
  await pool?.stop();
  await stack?.release();
});

/**
 * Moves every message of the racers' completions queue into `events`. A racer reports only after its sends
 * returned, so a short poll sees them all; bounded, it stops at the first empty receive.
 */
async function drainCompletions(): Promise<void> {
  for (let round = 0; round < 100; round++) {
    const { Messages = [] } = await h.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: completionsQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    if (Messages.length === 0) return;
    for (const message of Messages) {
      const event = JSON.parse(message.Body ?? '{}') as CompletionEvent;
      events.set(event.commandId, [...(events.get(event.commandId) ?? []), event]);
    }
    await h.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: completionsQueueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** The same job for every racer. */
function everyone(job: RacerJob): RacerJob[] {
  return Array.from({ length: PROCESSES }, () => job);
}

function statusCodes(results: RacerResult[]): number[] {
  return results.map((result) => ('value' in result ? 200 : result.statusCode));
}

async function view(commandId: string): Promise<CommandView> {
  const answer = await h.call<CommandView>(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
  assert.equal(answer.status, 200, answer.text);
  return answer.body;
}

describe('claims from several processes', () => {
  it('lets exactly one of many simultaneous claims run the command; the others get 409, another worker 403', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const stranger = await h.onlineWorker();
    for (let round = 0; round < ROUNDS; round++) {
      const commandId = await h.startCommand(worker);
      const claim: RacerJob = { op: 'claim', worker: worker.name, commandId, callers: CALLERS };
      // Act
      const results = await pool.race([
        ...everyone(claim).slice(1),
        { op: 'claim', worker: stranger.name, commandId, callers: CALLERS },
      ]);
      // Assess
      const own = statusCodes(results.slice(0, PROCESSES - 1).flat());
      assert.equal(own.filter((code) => code === 200).length, 1, `round ${round}: ${own.join(',')}`);
      assert.equal(own.filter((code) => code === 409).length, own.length - 1);
      assert.deepEqual(statusCodes(results[PROCESSES - 1]!), Array(CALLERS).fill(403));
      const record = await view(commandId);
      assert.equal(record.status, 'running');
      assert.equal(record.worker, worker.name);
      assert.ok(record.startedAt);
    }
  });
});

describe('the worker’s complete against the watchdog', () => {
  it('gives a command whose heartbeat deadline passes as the worker completes exactly one outcome and one event', async (t) => {
    // Prepare
    const worker = await h.onlineWorker();
    const outcomes: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const commandId = await h.claimed(worker, { timeouts: { heartbeat: HEARTBEAT_TIMEOUT_S } });
      await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, { updates: [[{ rc: 0 }, 0]] });
      const complete: RacerJob = {
        op: 'complete',
        worker: worker.name,
        commandId,
        lastSeq: 0,
        callers: 2,
        // The watchdog's path (index query, batch read, write) is longer than complete's (read, write).
        jitterMs: 45,
      };
      // The watchdog's clock is just past the heartbeat deadline: the command is overdue to it.
      const watchdog: RacerJob = { op: 'watchdog', clockShiftMs: WATCHDOG_AHEAD_MS };
      // Act
      const results = await pool.race([complete, watchdog, complete, watchdog]);
      await drainCompletions();
      // Assess
      const record = await view(commandId);
      assert.equal(record.status, 'complete');
      const lost = record.failure?.kind === 'worker_lost';
      assert.equal(record.results, lost ? RESULTS.RETRY : RESULTS.SUCCESS, JSON.stringify(record));
      if (!lost) assert.equal(record.failure, undefined);
      // Every complete answers the one recorded outcome, whether it won or not.
      for (const result of [...results[0]!, ...results[2]!]) {
        assert.ok('value' in result, JSON.stringify(result));
        assert.deepEqual(result.value, {
          commandId,
          status: 'complete',
          results: record.results,
          rc: 0,
          failure: record.failure ?? null,
        });
      }
      const published = events.get(commandId) ?? [];
      assert.equal(published.length, 1, `round ${round}: ${JSON.stringify(published)}`);
      assert.equal(published[0]!.results, record.results);
      assert.deepEqual(published[0]!.failure, record.failure ?? null);
      const name = lost ? 'worker_lost' : 'completed';
      outcomes[name] = (outcomes[name] ?? 0) + 1;
    }
    t.diagnostic(`winners over ${ROUNDS} rounds: ${JSON.stringify(outcomes)}`);
  });
});

describe('updates from several processes', () => {
  it('stores a batch posted by every process at once a single time and acks it for all', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const batch: SequencedUpdate[] = Array.from({ length: 5 }, (_, seq) => [
      { stdout: `line ${seq}\n` },
      seq,
    ]);
    // Act
    const results = await pool.race(
      everyone({ op: 'updates', worker: worker.name, commandId, batches: [batch], callers: CALLERS }),
    );
    // Assess
    for (const result of results.flat()) assert.deepEqual(result, { value: { acked: 4 } });
    const runs = (await commandItems(h.db, h.table, commandId)).filter((item) => item.sk !== 'CMD');
    assert.equal(runs.length, 1);
    const read = await h.call<{ updates: SequencedUpdate[] }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/updates`,
    );
    assert.deepEqual(read.body.updates, batch);
  });

  it('stores overlapping resends and extensions once each, with no seq in two runs', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const all: SequencedUpdate[] = Array.from({ length: 10 }, (_, seq) => [{ stdout: `${seq}\n` }, seq]);
    // Act: callers send [0..4] or [0..9], as a worker resending a batch it has since extended
    const results = await pool.race(
      everyone({
        op: 'updates',
        worker: worker.name,
        commandId,
        batches: [all.slice(0, 5), all],
        callers: CALLERS,
        jitterMs: 10,
      }),
    );
    // Assess
    for (const [i, result] of results.flat().entries()) {
      assert.ok('value' in result, JSON.stringify(result));
      const { acked } = result.value as { acked: number };
      assert.ok(acked >= (i % 2 === 0 ? 4 : 9), `caller ${i} was acked ${acked}`);
    }
    const runs = (await commandItems(h.db, h.table, commandId))
      .filter((item) => item.sk !== 'CMD')
      .map((item) => [item.first as number, item.last as number]);
    const covered = runs.flatMap(([first, last]) =>
      Array.from({ length: last! - first! + 1 }, (_, k) => first! + k),
    );
    assert.deepEqual(
      covered.sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const read = await h.call<{ updates: SequencedUpdate[]; acked: number }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/updates`,
    );
    assert.equal(read.body.acked, 9);
    assert.deepEqual(read.body.updates, all);
  });
});

describe('an interrupt against the claim', () => {
  it('ends in one consistent state: cancelled and never claimed, or running with the interrupt flagged', async (t) => {
    // Prepare
    const worker: TestWorker = await h.onlineWorker();
    const seen: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      const commandId = await h.startCommand(worker);
      // The claim is one write, the interrupt a read and a write: the claims start a little later on average.
      const claim: RacerJob = { op: 'claim', worker: worker.name, commandId, callers: 2, jitterMs: 20 };
      const interrupt: RacerJob = { op: 'interrupt', commandId, why: 'race', callers: 2 };
      // Act
      const results = await pool.race([claim, interrupt, claim, interrupt]);
      await drainCompletions();
      // Assess
      const claims = statusCodes([...results[0]!, ...results[2]!]);
      const interrupts = [...results[1]!, ...results[3]!].map((result) => {
        assert.ok('value' in result, JSON.stringify(result));
        return result.value as { status: string; interrupted: boolean };
      });
      const record = await view(commandId);
      if (record.status === 'complete') {
        assert.deepEqual(claims, [409, 409, 409, 409]);
        assert.equal(record.results, RESULTS.CANCELLED);
        assert.equal(record.startedAt, undefined);
        assert.deepEqual(record.failure, { kind: 'interrupted', message: 'race' });
        for (const answer of interrupts)
          assert.deepEqual(answer, { commandId, status: 'complete', interrupted: true });
        assert.equal(events.get(commandId)?.length, 1);
      } else {
        assert.equal(record.status, 'running');
        assert.equal(claims.filter((code) => code === 200).length, 1, claims.join(','));
        assert.equal(record.interrupted?.why, 'race');
        for (const answer of interrupts)
          assert.deepEqual(answer, { commandId, status: 'running', interrupted: true });
        assert.equal(events.get(commandId), undefined);
      }
      seen[record.status] = (seen[record.status] ?? 0) + 1;
    }
    t.diagnostic(`end states over ${ROUNDS} rounds: ${JSON.stringify(seen)}`);
  });
});

describe('idempotency keys from several processes', () => {
  it('gives every caller one commandId, stores one record and sends one queue message', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const request = {
      worker: worker.name,
      command: 'shell',
      args: { command: ['make'] },
      idempotencyKey: `race-${worker.name}`,
    };
    // Act
    const results = await pool.race(everyone({ op: 'start', request, callers: CALLERS }));
    // Assess
    const ids = new Set(
      results.flat().map((result) => {
        assert.ok('value' in result, JSON.stringify(result));
        return (result.value as { commandId: string }).commandId;
      }),
    );
    assert.equal(ids.size, 1);
    const [commandId] = [...ids] as [string];
    assert.equal((await commandItems(h.db, h.table, commandId)).length, 1);
    const first = await receiveOne(h.sqs, worker.queueUrl, { waitSeconds: 1 });
    const second = await receiveOne(h.sqs, worker.queueUrl, { waitSeconds: 1 });
    assert.equal(first?.commandId, commandId);
    assert.equal(second, undefined);
  });
});

describe('lastResult consumers in several processes', () => {
  it('keeps the latest event whatever order the racing consumers record them in', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const base = Date.parse('2030-01-01T00:00:00Z');
    const all: CompletionEvent[] = Array.from({ length: PROCESSES * CALLERS }, (_, i) =>
      successEvent({
        commandId: i.toString(16).padStart(32, '0'),
        worker: worker.name,
        completedAt: new Date(base + i * 1000).toISOString(),
      }),
    );
    // Act: process p's caller c records event c * PROCESSES + p, so each process holds old and new events
    const results = await pool.race(
      Array.from({ length: PROCESSES }, (_, p) => ({
        op: 'lastResult' as const,
        events: Array.from({ length: CALLERS }, (_, c) => all[c * PROCESSES + p]!),
        callers: CALLERS,
        jitterMs: 20,
      })),
    );
    // Assess
    for (const result of results.flat()) assert.ok('value' in result, JSON.stringify(result));
    const state = StateConnector.fromEnv();
    const objectId = await state.getObjectId(worker.name, LAST_RESULT.className);
    assert.deepEqual(await state.getState(objectId, LAST_RESULT.stateName), all[all.length - 1]);
  });
});
