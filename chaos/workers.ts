// The chaos suite's worker processes: registered once, spawned, SIGKILLed in bursts and started again.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../shared/client/errors.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import * as ENV from '../shared/config.ts';
import { SKEW_VARIABLE } from './skewClock.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = fileURLToPath(new URL('../worker/main.ts', import.meta.url));
const SKEW_CLOCK = fileURLToPath(new URL('./skewClock.ts', import.meta.url));

export interface ChaosWorker {
  name: string;
  token: string;
  queueUrl: string;
  basedir: string;
  /** Milliseconds this worker's clock is off (Date only; timers run true). */
  clockSkewMs: number;
  child?: ChildProcess;
  /** Times this worker was SIGKILLed. */
  kills: number;
  /** Times its process exited on its own (an agent that fails to start exits) and was started again. */
  exits: number;
}

export interface WorkerPool {
  workers: ChaosWorker[];
  /** SIGKILLs `count` running workers at once (chosen at random) and starts them again after `downMs`. */
  killBurst(count: number, downMs: number): Promise<string[]>;
  /** The pids of the running worker processes. */
  pids(): number[];
  stop(): Promise<void>;
}

async function withRetries<T>(what: string, call: () => Promise<T>, attempts = 30): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const refused = error instanceof ApiError && error.status < 500 && error.status !== 429;
      if (refused || attempt >= attempts)
        throw new Error(`${what}: ${(error as Error).message}`, { cause: error });
      await sleep(Math.min(200 * attempt, 2000));
    }
  }
}

/** How long a worker process may take to poll its queue (tsx compiles it on a loaded 2-core machine). */
const POLLING_TIMEOUT_MS = 90_000;

/** Resolves once the worker says it polls its queue (its first heartbeat made it online); rejects if it exits. */
function polling(worker: ChaosWorker): Promise<void> {
  const child = worker.child as ChildProcess;
  return new Promise((ready, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${worker.name} did not poll within ${POLLING_TIMEOUT_MS} ms`)),
      POLLING_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer) => {
      if (!chunk.toString('utf8').includes(': polling ')) return;
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      ready();
    };
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${worker.name} exited (code ${code}, signal ${signal}) before polling`));
    });
  });
}

function spawnOne(worker: ChaosWorker, opts: PoolOptions): ChildProcess {
  const preload = worker.clockSkewMs !== 0 ? ['--import', SKEW_CLOCK] : [];
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      ...preload,
      MAIN,
      '--name',
      worker.name,
      '--basedir',
      worker.basedir,
      '--concurrency',
      String(opts.concurrency),
    ],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        ...opts.env,
        [ENV.apiUrl]: opts.apiUrl,
        [ENV.workerToken]: worker.token,
        [ENV.awsSdkSuppressNodeDeprecationWarning]: '1',
        [ENV.nodeNoWarnings]: '1',
        ...(worker.clockSkewMs !== 0 ? { [SKEW_VARIABLE]: String(worker.clockSkewMs) } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) opts.log(`[${worker.name}] ${line}`);
  });
  return child;
}

interface PoolOptions {
  apiUrl: string;
  adminToken: string;
  /** What each worker process gets: the stack's env with the SQS proxy's endpoint. */
  env: Record<string, string>;
  count: number;
  concurrency: number;
  /** The base directories go under here. */
  dir: string;
  /** Clock offsets, in ms, of the first workers (the rest run true). */
  clockSkewsMs: number[];
  prefix: string;
  log: (line: string) => void;
}

/** Registers `count` workers through the API (rotating a name a persisted stack knows) and starts each. */
export async function startWorkerPool(opts: PoolOptions): Promise<WorkerPool> {
  const admin = new CommandsClient({ apiUrl: opts.apiUrl, token: opts.adminToken });
  const workers: ChaosWorker[] = [];
  for (let i = 0; i < opts.count; i++) {
    const name = `${opts.prefix}-w${i + 1}`;
    const registered = await withRetries(`register ${name}`, () =>
      admin.registerWorker(name, { rotate: true }),
    );
    const basedir = join(opts.dir, name);
    mkdirSync(basedir, { recursive: true });
    workers.push({
      name,
      token: registered.token,
      queueUrl: registered.queueUrl,
      basedir,
      clockSkewMs: opts.clockSkewsMs[i] ?? 0,
      kills: 0,
      exits: 0,
    });
  }
  let stopping = false;
  const killed = new WeakSet<ChildProcess>();
  /**
   * Starts the worker's process, and again whenever it exits on its own, as a service manager would (systemd's
   * Restart=always): an agent whose first heartbeat fails exits, and one started during an outage would
   * otherwise leave its commands to the watchdog for the rest of the run.
   */
  const start = (worker: ChaosWorker): void => {
    const child = spawnOne(worker, opts);
    worker.child = child;
    child.once('exit', (code, signal) => {
      if (stopping || killed.has(child)) return;
      worker.exits++;
      opts.log(`[chaos] ${worker.name} exited (code ${code}, signal ${signal}); starting it again in 2 s`);
      setTimeout(() => {
        if (!stopping && worker.child === child) start(worker);
      }, 2000);
    });
  };
  for (const worker of workers) start(worker);
  // Commands sent to a worker that never heartbeated end at once as worker_lost_before_start.
  await Promise.all(workers.map(polling));
  const running = () =>
    workers.filter((w) => w.child && w.child.exitCode === null && w.child.signalCode === null);
  return {
    workers,
    async killBurst(count, downMs) {
      const victims = running()
        .sort(() => Math.random() - 0.5)
        .slice(0, count);
      for (const victim of victims) {
        if (victim.child) killed.add(victim.child);
        victim.child?.kill('SIGKILL');
        victim.kills++;
      }
      await sleep(downMs);
      if (!stopping) for (const victim of victims) start(victim);
      return victims.map((victim) => victim.name);
    },
    pids: () => running().map((w) => w.child?.pid ?? 0),
    async stop() {
      stopping = true;
      // SIGTERM lets running commands finish; the suite stops its workers only after every command ended.
      await Promise.all(
        running().map(
          (w) =>
            new Promise<void>((done) => {
              const child = w.child as ChildProcess;
              const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
              child.once('exit', () => {
                clearTimeout(timer);
                done();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
