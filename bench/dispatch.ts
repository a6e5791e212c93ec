/**
 * dispatch: the latency of one trivial command (`true`), POST /v1/commands until its completion is
 * recorded, one at a time, against the local stack with one worker in its own process. Floor: spawning
 * `true` directly plus one loopback HTTP round trip, the least any remote execution can cost.
 *
 * "Recorded" is the server's completedAt minus the moment before the POST (same clock); the client polls
 * every 2 ms only to know when to send the next one, and what it sees is reported too.
 */
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, epochNow, waitComplete } from './lib/commands.ts';
import { loopbackRoundTripSamples, spawnTrueSamples } from './lib/floors.ts';
import { summarize } from './lib/stats.ts';
import { startWorkers, stopWorkers } from './lib/workers.ts';

const POLL_MS = 2;
const TIMEOUT_MS = 30_000;

export const dispatch: Benchmark = {
  name: 'dispatch',
  title: 'one trivial command, POST to completion recorded, sequential',
  async run(ctx) {
    const runs = size(ctx, 200, 3);
    const warmUp = size(ctx, 10, 1);
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
    const [worker] = await startWorkers(stack, 'dispatch', 1);
    const samples = {
      recordedMs: [] as number[],
      observedMs: [] as number[],
      postMs: [] as number[],
      queuedMs: [] as number[],
      runningMs: [] as number[],
    };
    let succeeded = 0;
    try {
      for (let i = 0; i < warmUp + runs; i += 1) {
        if (i === warmUp) ctx.progress(`${runs} measured runs`);
        const start = performance.now();
        const startEpoch = epochNow();
        const { commandId } = await client.startCommand({ worker: worker!.name, ...TRIVIAL_COMMAND });
        const postMs = performance.now() - start;
        const view = await waitComplete(client, commandId, { intervalMs: POLL_MS, timeoutMs: TIMEOUT_MS });
        const observedMs = performance.now() - start;
        if (i < warmUp) continue;
        if (view.results === 0 && view.rc === 0) succeeded += 1;
        const created = Date.parse(view.createdAt);
        const started = Date.parse(view.startedAt ?? view.createdAt);
        const completed = Date.parse(view.completedAt ?? view.createdAt);
        samples.recordedMs.push(completed - startEpoch);
        samples.observedMs.push(observedMs);
        samples.postMs.push(postMs);
        samples.queuedMs.push(started - created);
        samples.runningMs.push(completed - started);
      }
    } finally {
      await stopWorkers(worker ? [worker] : []);
    }

    ctx.progress('floor: spawn `true` and a loopback round trip');
    const spawnMs = await spawnTrueSamples(runs);
    const roundTripMs = await loopbackRoundTripSamples(runs);
    const floorP50 = summarize(spawnMs).p50 + summarize(roundTripMs).p50;
    const floorP99 = summarize(spawnMs).p99 + summarize(roundTripMs).p99;
    const recorded = summarize(samples.recordedMs);
    const observed = summarize(samples.observedMs);
    return {
      params: { runs, warmUp, pollMs: POLL_MS, workers: 1, command: TRIVIAL_COMMAND },
      figures: [
        {
          name: 'POST → completion recorded p50',
          value: recorded.p50,
          unit: 'ms',
          floor: floorP50,
          target: { op: '<=', value: 10 },
        },
        { name: 'POST → completion recorded p99', value: recorded.p99, unit: 'ms', floor: floorP99 },
        { name: 'POST → client sees complete p50', value: observed.p50, unit: 'ms', floor: floorP50 },
        {
          name: 'POST answered (202) p50',
          value: summarize(samples.postMs).p50,
          unit: 'ms',
          floor: summarize(roundTripMs).p50,
        },
        { name: 'created → claimed p50', value: summarize(samples.queuedMs).p50, unit: 'ms' },
        {
          name: 'claimed → completed p50',
          value: summarize(samples.runningMs).p50,
          unit: 'ms',
          floor: summarize(spawnMs).p50,
        },
      ],
      samples,
      floor: {
        description:
          'spawn `true` and wait for its exit, plus one fetch POST to a node http server on 127.0.0.1',
        samples: { spawnTrueMs: spawnMs, loopbackRoundTripMs: roundTripMs },
      },
      checks: { everyCommandSucceeded: succeeded === runs },
    };
  },
};
