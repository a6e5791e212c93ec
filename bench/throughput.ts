/**
 * throughput: 2,000 trivial commands over 8 workers (8 OS processes), submitted 32 at a time, in
 * commands per second from the first POST to the last completion recorded. Then the evidence that
 * nothing was lost or duplicated: every command is complete with SUCCESS, and the workers' own logs
 * show each one started exactly once. Floor: spawning `true` 2,000 times over 8 parallel lanes.
 *
 * Where the CPU went: each process's CPU time (/proc) before and after the burst, per command, and the
 * throughput that this machine's cores would allow if that CPU were all there was to spend.
 */
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { CommandView } from '../shared/commands/wire.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, epochNow } from './lib/commands.ts';
import { cpuSpent, readCpu } from './lib/cpu.ts';
import type { CpuSource, ProcessCpu } from './lib/cpu.ts';
import { spawnTrue } from './lib/floors.ts';
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

/**
 * Waits until the last command sent to each worker is complete, reading one record per SWEEP_MS: each
 * worker serves its queue about in order, so these end the burst, and polling them costs the stack
 * almost nothing (reading every command while the burst runs took one HTTP request and one GetItem per
 * command from the system being measured).
 */
async function waitForTail(client: CommandsClient, tail: string[], deadline: number): Promise<void> {
  let cursor = tail.length - 1;
  while (cursor >= 0 && performance.now() < deadline) {
    const view = await client.getCommand(tail[cursor]!);
    if (view.status === 'complete') cursor -= 1;
    else await sleep(SWEEP_MS);
  }
}

/** CPU-ms per command of each part, their sum, and the ceilings (commands/s) that CPU allows on `cores`. */
function cpuAccount(spent: Record<string, ProcessCpu>, commands: number, cores: number) {
  const perCommand = (ms: number) => ms / Math.max(commands, 1);
  const workerLabels = Object.keys(spent).filter((label) => label.startsWith('worker '));
  const parts = {
    stack: perCommand(spent.stack!.ownMs),
    java: perCommand(spent.java!.ownMs),
    fauxqs: perCommand(spent.fauxqs!.ownMs),
    workers: perCommand(workerLabels.reduce((sum, label) => sum + spent[label]!.ownMs, 0)),
    workersChildren: perCommand(workerLabels.reduce((sum, label) => sum + spent[label]!.childrenMs, 0)),
  };
  const sum = Object.values(parts).reduce((total, value) => total + value, 0);
  const machine = perCommand(spent.machine!.ownMs);
  const ceiling = (ms: number) => (cores * 1000) / ms;
  return {
    perCommandMs: { ...parts, sum, machine, unaccounted: machine - sum },
    ceilings: {
      emulators: ceiling(parts.java + parts.fauxqs),
      stack: ceiling(parts.stack),
      accounted: ceiling(sum),
      machine: ceiling(machine),
    },
  };
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
    const cpuSources: CpuSource[] = [
      { label: 'stack', self: true },
      { label: 'java', pid: stack.emulators.javaPid },
      { label: 'fauxqs', pid: stack.emulators.supervisorPid },
      ...workers.map((worker, i) => ({ label: `worker ${i}`, pid: worker.pid })),
    ];

    const ids: string[] = new Array<string>(total);
    const submittedAt: number[] = new Array<number>(total);
    const views = new Map<string, CommandView>();
    let reports;
    let spent: Record<string, ProcessCpu> | undefined;
    const cpuBefore = readCpu(cpuSources);
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
      const deadline = performance.now() + timeoutMs;
      await waitForTail(client, ids.slice(-workerCount), deadline);
      // Read before the records are: the workload is over, the bench's reading of it is not part of it.
      spent = cpuSpent(cpuBefore, readCpu(cpuSources));
      // The burst is over (or the time is up): read every record, 8 at a time, until all are complete.
      // The figure uses the server's timestamps, so reading late changes nothing but the bench's load.
      let pending = ids;
      while (pending.length > 0 && performance.now() < deadline) {
        const unfinished: string[] = [];
        await inLanes(pending.length, workerCount, async (i) => {
          const view = await client.getCommand(pending[i]!);
          if (view.status === 'complete') views.set(view.commandId, view);
          else unfinished.push(pending[i]!);
        });
        pending = unfinished;
        if (pending.length > 0) await sleep(SWEEP_MS);
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
    const cores = cpus().length;
    const cpu = cpuAccount(spent ?? {}, views.size, cores);
    const per = cpu.perCommandMs;

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
        {
          name: 'CPU per command: bench + stack process (gateway, handlers)',
          value: per.stack,
          unit: 'CPU-ms',
        },
        { name: 'CPU per command: java (DynamoDB Local)', value: per.java, unit: 'CPU-ms' },
        { name: 'CPU per command: supervisor (fauxqs)', value: per.fauxqs, unit: 'CPU-ms' },
        { name: `CPU per command: ${workerCount} workers`, value: per.workers, unit: 'CPU-ms' },
        { name: "CPU per command: workers' children (`true`)", value: per.workersChildren, unit: 'CPU-ms' },
        { name: 'CPU per command: sum of the above', value: per.sum, unit: 'CPU-ms' },
        { name: 'CPU per command: whole machine (/proc/stat)', value: per.machine, unit: 'CPU-ms' },
        {
          name: `ceiling from the emulators' CPU alone (${cores} cores)`,
          value: cpu.ceilings.emulators,
          unit: 'commands/s',
        },
        {
          name: `ceiling from the stack's CPU alone (${cores} cores)`,
          value: cpu.ceilings.stack,
          unit: 'commands/s',
        },
        {
          name: `ceiling from all accounted CPU (${cores} cores)`,
          value: cpu.ceilings.accounted,
          unit: 'commands/s',
        },
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
        cpu: {
          description:
            'CPU time (utime + stime from /proc/<pid>/stat; process.cpuUsage() for this process) from the ' +
            'first POST until every command was seen complete, per command. ceiling = cores × 1000 / CPU-ms ' +
            "per command. workersChildren: the workers' reaped children (cutime + cstime). unaccounted: the " +
            "machine's busy time not in these processes (kernel threads, other work on the machine).",
          cores,
          spentMs: spent,
          ...cpu,
        },
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
