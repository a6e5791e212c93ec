import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RacerEvent, RacerJob, RacerResult } from './racer.ts';

/**
 * Real OS processes for the race tests: each racer (racer.ts) is a separate node process with its own SDK
 * clients, standing in for one Lambda instance. The pool starts them once and hands one job to each per race.
 */
const RACER = fileURLToPath(new URL('./racer.ts', import.meta.url));
/** A race whose racers have not all answered in this long fails (and the racers are killed). */
const RACE_TIMEOUT_MS = 30_000;

interface Racer {
  child: ChildProcessWithoutNullStreams;
  ready: Promise<void>;
  /** Resolvers of the results still awaited, in the order the jobs were written. */
  waiting: ((results: RacerResult[]) => void)[];
  exited: Promise<never>;
}

export interface RacerPool {
  size: number;
  /** Writes jobs[i] to racer i (all at once) and returns every racer's results, in racer order. */
  race(jobs: RacerJob[]): Promise<RacerResult[][]>;
  stop(): Promise<void>;
}

function startRacer(env: Record<string, string>, label: string): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', RACER], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let onReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const waiting: ((results: RacerResult[]) => void)[] = [];
  const exited = new Promise<never>((_resolve, reject) =>
    child.on('close', (code, signal) =>
      reject(new Error(`racer ${label} exited (${code ?? signal}): ${stderr.slice(-2000)}`)),
    ),
  );
  // A racer that dies fails whichever race awaits it; until then nobody listens.
  exited.catch(() => undefined);
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as RacerEvent;
    if (event.event === 'ready') onReady();
    if (event.event === 'done') waiting.shift()?.(event.results);
  });
  return { child, ready, waiting, exited };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Starts `size` racers with `env` (the stack's, plus overrides) and waits until every one is warm. */
export async function startRacerPool(size: number, env: Record<string, string>): Promise<RacerPool> {
  const racers = Array.from({ length: size }, (_, i) => startRacer(env, `p${i}`));
  const stopAll = async (): Promise<void> => {
    for (const racer of racers) {
      if (racer.child.exitCode !== null || racer.child.signalCode !== null) continue;
      racer.child.stdin.write(`${JSON.stringify({ op: 'exit' })}\n`);
      await within(
        racer.exited.catch(() => undefined),
        5000,
        'racer exit',
      ).catch(() => racer.child.kill('SIGKILL'));
    }
  };
  try {
    await within(
      Promise.race([Promise.all(racers.map((r) => r.ready)), ...racers.map((r) => r.exited)]),
      RACE_TIMEOUT_MS,
      'racer start',
    );
  } catch (error) {
    for (const racer of racers) racer.child.kill('SIGKILL');
    throw error;
  }
  return {
    size,
    async race(jobs) {
      if (jobs.length !== size) throw new Error(`a race needs ${size} jobs, got ${jobs.length}`);
      const answers = racers.map(
        (racer) => new Promise<RacerResult[]>((resolve) => racer.waiting.push(resolve)),
      );
      racers.forEach((racer, i) => racer.child.stdin.write(`${JSON.stringify(jobs[i])}\n`));
      return within(
        Promise.race([Promise.all(answers), ...racers.map((r) => r.exited)]),
        RACE_TIMEOUT_MS,
        'race',
      );
    },
    stop: stopAll,
  };
}
