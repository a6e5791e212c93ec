// The soak: many trivial commands over many workers, no faults, throughput and memory over time.
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapLimit, settle, verify } from './check.ts';
import { newSubmission, submit } from './load.ts';
import type { CommandShape, Submission } from './load.ts';
import { failures, tally } from './report.ts';
import type { MemorySample, Tally, ThroughputSample } from './report.ts';
import { startSession } from './session.ts';

export interface SoakOptions {
  /** @default 10000 */
  commands?: number;
  /** @default 16 */
  workers?: number;
  /** @default 2 */
  concurrency?: number;
  /** Stop submitting after this long, whatever the count reached (the report says so). @default 3600 */
  budgetSeconds?: number;
  /** Commands accepted and not yet ended, at most; submitting waits above it. @default 64 */
  maxOutstanding?: number;
  /** Throughput and memory are sampled this often. @default 5 */
  sampleSeconds?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface SoakReport {
  mode: 'soak';
  options: Omit<Required<SoakOptions>, 'log'>;
  seconds: number;
  total: Tally;
  throughput: ThroughputSample[];
  memory: MemorySample[];
  notes: string[];
  failures: string[];
}

const DEFAULTS = {
  commands: 10_000,
  workers: 16,
  concurrency: 2,
  budgetSeconds: 3600,
  maxOutstanding: 64,
  sampleSeconds: 5,
  keep: false,
};

export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const { log = () => undefined, ...given } = options;
  const opts = { ...DEFAULTS, ...given };
  const began = Date.now();
  const session = await startSession({
    workers: opts.workers,
    concurrency: opts.concurrency,
    clockSkewsMs: [],
    keep: opts.keep,
    log,
  });
  try {
    const { client, pool } = session;
    const shape: CommandShape = {
      lines: 1,
      lineSleep: 0,
      markerDir: session.markerDir,
      endDir: session.endDir,
      timeouts: { start: 300, heartbeat: 30 },
    };
    const ended = (): number => readdirSync(session.endDir).length;
    const throughput: ThroughputSample[] = [];
    let lastTotal = 0;
    const sampleTimer = setInterval(() => {
      const total = ended();
      const t = Math.round((Date.now() - session.startedAt) / 1000);
      throughput.push({
        t,
        perSecond: Math.round(((total - lastTotal) / opts.sampleSeconds) * 10) / 10,
        total,
      });
      lastTotal = total;
      void session.sampleMemory();
      log(`[chaos] soak: ${total} ended after ${t} s`);
    }, opts.sampleSeconds * 1000);
    await session.sampleMemory();
    const loadEnd = session.startedAt + opts.budgetSeconds * 1000;
    const keyPrefix = session.runId.replace(/[^a-z0-9]/gi, '');
    const submissions: Submission[] = Array.from({ length: opts.commands }, (_, i) =>
      newSubmission(`${keyPrefix}x${i}`, pool.workers[i % pool.workers.length]?.name as string, 1),
    );
    let submitted = 0;
    // Eight starts in flight; none while too many accepted commands wait for their end.
    await mapLimit(submissions, 8, async (submission) => {
      while (submitted - ended() >= opts.maxOutstanding && Date.now() < loadEnd) await sleep(50);
      if (Date.now() >= loadEnd) return;
      submitted++;
      await submit(client, submission, shape, loadEnd);
    });
    const tried = submissions.filter((s) => s.attempts > 0);
    const views = await settle(client, tried, Date.now() + 120_000);
    clearInterval(sampleTimer);
    await session.sampleMemory();
    const verdicts = await verify(client, tried, views, session.markerDir, { readLogs: true });
    const total = tally(verdicts);
    const notes =
      tried.length < opts.commands
        ? [`the budget of ${opts.budgetSeconds} s ended after ${tried.length} of ${opts.commands} commands`]
        : [];
    return {
      mode: 'soak',
      options: opts,
      seconds: (Date.now() - began) / 1000,
      total,
      throughput,
      memory: session.memory,
      notes,
      failures: failures(total),
    };
  } finally {
    await session.stop();
  }
}
