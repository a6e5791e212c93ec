// One chaos run's setting: its directories, the stack process and proxies, the workers, the client, memory sampling.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import { rssMb } from './report.ts';
import type { MemorySample } from './report.ts';
import { startChaosStack } from './stack.ts';
import type { ChaosStack } from './stack.ts';
import { startWorkerPool } from './workers.ts';
import type { WorkerPool } from './workers.ts';

/** Where runs keep their data (removed after the run unless kept) and their JSON reports. */
export const CHAOS_DIR = fileURLToPath(new URL('../.local-data/chaos/', import.meta.url));

export interface SessionOptions {
  workers: number;
  concurrency: number;
  /** Clock offsets of the first workers, in ms. */
  clockSkewsMs: number[];
  /** Keep the run's data directory (persisted tables, base directories, markers). @default false */
  keep?: boolean;
  log: (line: string) => void;
}

export interface Session {
  runId: string;
  dir: string;
  markerDir: string;
  endDir: string;
  stack: ChaosStack;
  pool: WorkerPool;
  client: CommandsClient;
  startedAt: number;
  memory: MemorySample[];
  /** Reads the RSS of the stack's processes and the workers now, and keeps the sample. */
  sampleMemory(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSession(opts: SessionOptions): Promise<Session> {
  const runId = `run-${process.pid}-${Date.now().toString(36)}`;
  const dir = join(CHAOS_DIR, runId);
  const markerDir = join(dir, 'markers');
  const endDir = join(dir, 'ended');
  for (const each of [markerDir, endDir, join(dir, 'workers')]) mkdirSync(each, { recursive: true });
  const stack = await startChaosStack({ persistDir: join(dir, 'dynamodb'), log: opts.log });
  let pool: WorkerPool;
  try {
    pool = await startWorkerPool({
      apiUrl: stack.apiUrl,
      adminToken: stack.tokens.admin,
      env: stack.workerEnv,
      count: opts.workers,
      concurrency: opts.concurrency,
      dir: join(dir, 'workers'),
      clockSkewsMs: opts.clockSkewsMs,
      prefix: 'chaos',
      log: opts.log,
    });
  } catch (error) {
    await stack.stop();
    throw error;
  }
  const startedAt = Date.now();
  const memory: MemorySample[] = [];
  return {
    runId,
    dir,
    markerDir,
    endDir,
    stack,
    pool,
    client: new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client }),
    startedAt,
    memory,
    async sampleMemory() {
      const pids = await stack.pids();
      const workers = pool
        .pids()
        .map(rssMb)
        .filter((mb): mb is number => mb !== undefined);
      const rss: Record<string, number> = {};
      if (pids) {
        rss.stack = rssMb(pids.stack) ?? 0;
        rss.supervisor = rssMb(pids.supervisor) ?? 0;
        rss.java = rssMb(pids.java) ?? 0;
      }
      rss.workers = Math.round(workers.reduce((sum, mb) => sum + mb, 0));
      rss.workerMax = Math.max(0, ...workers);
      memory.push({ t: Math.round((Date.now() - startedAt) / 1000), rssMb: rss });
    },
    async stop() {
      await pool.stop();
      await stack.stop();
      if (!opts.keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
