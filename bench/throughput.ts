/**
 * throughput: 2,000 trivial commands over 8 workers (8 OS processes), submitted 32 at a time, in
 * commands per second from the first POST to the last completion recorded. Then the evidence that
 * nothing was lost or duplicated: every command is complete with SUCCESS, and the workers' own logs
 * show each one started exactly once. Floor: spawning `true` 2,000 times over 8 parallel lanes.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { CommandView } from '../shared/commands/wire.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, epochNow } from './lib/commands.ts';
import { summarize } from './lib/stats.ts';
import { startWorkers, stopWorkers } from './lib/workers.ts';

const IN_FLIGHT = 32;
const SWEEP_MS = 200;
/**
 * The whole burst is queued at once, so the last command waits for all before it: the default 60 s start
 * timeout would end the tail as start_timeout whenever throughput is below total / 60 s.
 */
const START_TIMEOUT_S = 900;

/** Runs `task` for every index with at most `lanes` at once. */
async function inLanes(count: number, lanes: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(lanes, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

function tally(labels: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

export const throughput: Benchmark = {
  name: 'throughput',
  title: 'trivial commands over 8 workers, commands per second',
  async run(ctx) {
    const total = size(ctx, 2000, 8);
    const workerCount = size(ctx, 8, 2);
    const timeoutMs = size(ctx, 300_000, 30_000);
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
    ctx.progress(`starting ${workerCount} worker processes`);
    const workers = await startWorkers(stack, 'throughput', workerCount);

    const ids: string[] = new Array<string>(total);
    const submittedAt: number[] = new Array<number>(total);
    const views = new Map<string, CommandView>();
    let reports;
    const start = epochNow();
    try {
      ctx.progress(`submitting ${total} commands, ${IN_FLIGHT} in flight`);
      const submitting = inLanes(total, IN_FLIGHT, async (i) => {
        submittedAt[i] = epochNow();
        const { commandId } = await client.startCommand({
          worker: workers[i % workerCount]!.name,
          ...TRIVIAL_COMMAND,
          timeouts: { start: START_TIMEOUT_S },
        });
        ids[i] = commandId;
      });
      await submitting;
      const submitMs = epochNow() - start;
      // Sweep in submission order and stop at the first unfinished command: each finished one is read
      // about once, so the sweeps themselves add little load. The figure uses the server's timestamps.
      const deadline = performance.now() + timeoutMs;
      let cursor = 0;
      while (cursor < total && performance.now() < deadline) {
        const view = await client.getCommand(ids[cursor]!);
        if (view.status === 'complete') {
          views.set(view.commandId, view);
          cursor += 1;
        } else {
          await sleep(SWEEP_MS);
        }
      }
      ctx.progress(`${views.size}/${total} complete; submitting took ${Math.round(submitMs)} ms`);
    } finally {
      reports = await stopWorkers(workers);
    }

    const completedAt = [...views.values()].map((view) => Date.parse(view.completedAt ?? view.createdAt));
    const elapsedS = (Math.max(...completedAt) - start) / 1000;
    const perSecond = views.size / elapsedS;
    const latencies = ids
      .map((id, i) => Date.parse(views.get(id)?.completedAt ?? '') - submittedAt[i]!)
      .filter(Number.isFinite);

    const startedCounts = new Map<string, number>();
    for (const report of reports)
      for (const [id, count] of Object.entries(report.started))
        startedCounts.set(id, (startedCounts.get(id) ?? 0) + count);
    const submitted = new Set(ids);

    ctx.progress('floor: spawning `true` in 8 lanes');
    const floorStart = performance.now();
    await inLanes(total, workerCount, spawnTrue);
    const floorPerSecond = total / ((performance.now() - floorStart) / 1000);

    return {
      params: {
        commands: total,
        workers: workerCount,
        inFlight: IN_FLIGHT,
        startTimeoutS: START_TIMEOUT_S,
        command: TRIVIAL_COMMAND,
      },
      figures: [
        {
          name: 'throughput',
          value: perSecond,
          unit: 'commands/s',
          floor: floorPerSecond,
          target: { op: '>=', value: 200 },
        },
        { name: 'wall time, first POST → last completion', value: elapsedS, unit: 's' },
        { name: 'POST → completion recorded p50', value: summarize(latencies).p50, unit: 'ms' },
        { name: 'POST → completion recorded p99', value: summarize(latencies).p99, unit: 'ms' },
      ],
      samples: { completionLatencyMs: latencies },
      floor: {
        description: `spawn \`true\` ${total} times in ${workerCount} parallel lanes (commands/s)`,
        samples: { spawnTruePerSecond: [floorPerSecond] },
      },
      checks: {
        everyCommandComplete: views.size === total,
        everyCommandSucceeded: [...views.values()].every((view) => view.results === 0 && view.rc === 0),
        everyCommandStartedOnce: ids.every((id) => startedCounts.get(id) === 1),
        noUnknownCommandStarted: [...startedCounts.keys()].every((id) => submitted.has(id)),
      },
      details: {
        // Evidence for a failed check: how commands ended, and how often each was started.
        outcomes: tally(
          [...views.values()].map((view) => `results=${view.results} ${view.failure?.kind ?? ''}`.trim()),
        ),
        startsPerCommand: tally(ids.map((id) => `started ${startedCounts.get(id) ?? 0}x`)),
        notStartedOnce: ids
          .filter((id) => startedCounts.get(id) !== 1)
          .slice(0, 10)
          .map((id) => ({ id, started: startedCounts.get(id) ?? 0, view: views.get(id) })),
        workerProblems: reports.flatMap((report) => report.problems).slice(0, 20),
      },
    };
  },
};
