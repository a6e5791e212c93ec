// The chaos run: commands under load while the faults are injected in turn, then the check, as one report.
import { setTimeout as sleep } from 'node:timers/promises';
import { settle, verify } from './check.ts';
import { runFaults, FAULT_NAMES } from './faults.ts';
import type { FaultName, FaultWindow } from './faults.ts';
import { Duplicator } from './duplicates.ts';
import { newSubmission, startAckSampler, submit } from './load.ts';
import type { CommandShape, Submission } from './load.ts';
import { failures, perFault, tally } from './report.ts';
import type { MemorySample, Tally } from './report.ts';
import { startSession } from './session.ts';

export interface ChaosOptions {
  /** Wall-clock seconds of load and faults; the check's wait comes after. @default 180 */
  budgetSeconds?: number;
  /** @default 4 */
  workers?: number;
  /** Commands each worker runs at once. @default 3 */
  concurrency?: number;
  /** Commands submitted a second. @default 2 */
  rate?: number;
  /** Lines each command prints, `lineSleep` seconds apart. @default 10 and 0.1 */
  lines?: number;
  lineSleep?: number;
  /** The faults, injected in this order, round and round. @default FAULT_NAMES */
  faults?: readonly FaultName[];
  /** Seconds between faults. @default 4 */
  gapSeconds?: number;
  /** How long a rate fault (throttle, errors, duplicates) lasts. @default 8 */
  windowSeconds?: number;
  /** The commands' timeouts, in seconds. @default { start: 20, heartbeat: 6 } */
  timeouts?: { start: number; heartbeat: number };
  /** The first worker's clock is off by this much (0: none). @default 300000 (5 minutes fast) */
  clockSkewMs?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface ChaosReport {
  mode: 'chaos';
  options: Omit<Required<ChaosOptions>, 'log'>;
  seconds: number;
  total: Tally;
  faults: Record<string, Tally & { injections: number }>;
  windows: FaultWindow[];
  proxies: Record<string, unknown>;
  memory: MemorySample[];
  ackReads: number;
  failures: string[];
}

const DEFAULTS = {
  budgetSeconds: 180,
  workers: 4,
  concurrency: 3,
  rate: 2,
  lines: 10,
  lineSleep: 0.1,
  faults: FAULT_NAMES,
  gapSeconds: 4,
  windowSeconds: 8,
  timeouts: { start: 20, heartbeat: 6 },
  clockSkewMs: 5 * 60_000,
  keep: false,
};

export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const { log = () => undefined, ...given } = options;
  const opts = { ...DEFAULTS, ...given };
  const began = Date.now();
  const session = await startSession({
    workers: opts.workers,
    concurrency: opts.concurrency,
    clockSkewsMs: opts.clockSkewMs !== 0 ? [opts.clockSkewMs] : [],
    keep: opts.keep,
    log,
  });
  try {
    const { client, pool, stack } = session;
    const shape: CommandShape = {
      lines: opts.lines,
      lineSleep: opts.lineSleep,
      markerDir: session.markerDir,
      timeouts: opts.timeouts,
    };
    const submissions: Submission[] = [];
    const loadEnd = session.startedAt + opts.budgetSeconds * 1000;
    // The last faults are repaired before the load ends: the tail shows the stack recovered.
    const faultsEnd = loadEnd - Math.min(20_000, opts.budgetSeconds * 200);
    const sampler = startAckSampler(client, submissions, { everyMs: 1000, perRound: 4 });
    const memoryTimer = setInterval(() => void session.sampleMemory(), 5000);
    await session.sampleMemory();
    const queueUrls = new Map(pool.workers.map((w) => [w.name, w.queueUrl]));
    const duplicator = new Duplicator(stack.workerEnv, queueUrls, shape);
    const faultRun = runFaults(
      { stack, pool, windowMs: opts.windowSeconds * 1000, duplicator, submissions, log },
      { faults: opts.faults, until: faultsEnd, gapMs: opts.gapSeconds * 1000 },
    );
    // Submitting goes on through every outage; a start keeps its key until the API takes it.
    const pending: Promise<void>[] = [];
    const keyPrefix = session.runId.replace(/[^a-z0-9]/gi, '');
    for (let i = 0; Date.now() < loadEnd; i++) {
      const worker = pool.workers[i % pool.workers.length]?.name as string;
      const submission = newSubmission(`${keyPrefix}x${i}`, worker, opts.lines);
      submissions.push(submission);
      pending.push(submit(client, submission, shape, loadEnd + 60_000));
      await sleep(1000 / opts.rate);
    }
    const windows = await faultRun;
    duplicator.close();
    await Promise.all(pending);
    // Long enough for the watchdog to end what a fault left without an end: a start or heartbeat timeout, and more.
    const settleMs = (opts.timeouts.start + opts.timeouts.heartbeat) * 1000 + 30_000;
    const views = await settle(client, submissions, Date.now() + settleMs);
    await sampler.stop();
    clearInterval(memoryTimer);
    await session.sampleMemory();
    const verdicts = await verify(client, submissions, views, session.markerDir, { readLogs: true });
    const total = tally(verdicts);
    const faults = perFault(verdicts, windows);
    if (opts.clockSkewMs !== 0) {
      const skewed = pool.workers[0]?.name;
      faults[`clock-skew (${skewed} ${opts.clockSkewMs / 60_000} min)`] = {
        injections: 1,
        ...tally(verdicts.filter((v) => v.worker === skewed)),
      };
    }
    return {
      mode: 'chaos',
      options: opts,
      seconds: (Date.now() - began) / 1000,
      total,
      faults,
      windows,
      proxies: {
        dynamodb: stack.proxies.dynamodb.counts,
        sqs: stack.proxies.sqs.counts,
        duplicateMessagesSent: duplicator.sent,
        workers: Object.fromEntries(
          pool.workers.map((w) => [w.name, { killed: w.kills, exitedOnItsOwn: w.exits }]),
        ),
      },
      memory: session.memory,
      ackReads: sampler.reads(),
      failures: failures(total),
    };
  } finally {
    await session.stop();
  }
}
