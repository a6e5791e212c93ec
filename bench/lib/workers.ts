// Owns the benchmarks' worker processes: register, start, reset their tallies, stop.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../local/index.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import type { WorkerReport } from '../fixtures/worker.ts';
import type { EngineRun } from './engines.ts';
import { repoRoot } from './paths.ts';
import { spawnLineChild } from './processes.ts';

const workerScript = join(repoRoot, 'bench', 'fixtures', 'worker.ts');

export interface WorkerProcess {
  name: string;
  /** The worker's process id (to read its CPU time). */
  pid: number;
  /** Zeroes the process's AWS request tally (before the measured workload). */
  resetTally(): void;
  /** Stops the worker gracefully and returns what it counted. */
  stop(): Promise<WorkerReport>;
}

/**
 * Registers `count` workers named `<prefix>-<i>` and starts each in its own process, with our engine or
 * `opts.engine`; resolves once all poll (for the stock engine: once its buildbot-worker has connected).
 */
export async function startWorkers(
  stack: LocalStack,
  prefix: string,
  count: number,
  opts: { concurrency?: number; engine?: EngineRun } = {},
): Promise<WorkerProcess[]> {
  const engine = opts.engine ?? { name: 'native' };
  const admin = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.admin });
  const suffix = Date.now().toString(36);
  const workers = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const name = `${prefix}-${suffix}-${i}`;
      const { token } = await admin.registerWorker(name);
      const basedir = mkdtempSync(join(tmpdir(), `bbs-bench-${name}-`));
      const child = spawnLineChild(
        workerScript,
        [
          stack.apiUrl,
          name,
          token,
          basedir,
          String(opts.concurrency ?? 1),
          engine.name,
          ...(engine.buildbotWorker ? [engine.buildbotWorker] : []),
        ],
        { ...process.env, ...stack.env },
      );
      await child.next<{ ready: true }>();
      return {
        name,
        pid: child.pid,
        resetTally: () => child.send('reset'),
        async stop() {
          const closed = child.close();
          const report = await child.next<WorkerReport>();
          await closed;
          rmSync(basedir, { recursive: true, force: true });
          return report;
        },
      } satisfies WorkerProcess;
    }),
  );
  return workers;
}

/** Stops every worker, whatever happened before. */
export function stopWorkers(workers: WorkerProcess[]): Promise<WorkerReport[]> {
  return Promise.all(workers.map((worker) => worker.stop()));
}
