// Owns the stock engine's floor: buildbot-worker fed directly by the agent's msgpack master, no queue, no API.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBuildbotWorkerEngine } from '../../worker/engines/stockWorker.ts';
import type { BuildbotWorkerEngine } from '../../worker/engines/stockWorker.ts';
import type { CommandArgs } from '../../worker/commands/args.ts';
import { readProcessCpu } from './cpu.ts';

/** The CPU time (user + system, every thread) a process has used so far, in seconds. */
function processCpuSeconds(pid: number): number {
  return readProcessCpu(pid).ownMs / 1000;
}

export interface StockShellRun {
  /** From start() to the command's done: start_command, the process, its updates, complete. */
  wallMs: number;
  /** Characters of stdout the stock worker sent. */
  stdoutChars: number;
  /** CPU seconds the stock worker's process used meanwhile. */
  stockCpuS: number;
}

/** A stock worker of its own, in a temporary basedir, that runs shell commands through the engine's registry. */
export interface StockFloor {
  run(command: string[]): Promise<StockShellRun>;
  stop(): Promise<void>;
}

export async function startStockFloor(executable: string | undefined): Promise<StockFloor> {
  const basedir = mkdtempSync(join(tmpdir(), 'bbs-bench-stock-floor-'));
  let engine: BuildbotWorkerEngine;
  try {
    engine = await startBuildbotWorkerEngine({ basedir, executable, log: () => undefined });
  } catch (error) {
    rmSync(basedir, { recursive: true, force: true });
    throw error;
  }
  const shell = engine.registry.get('shell')!;
  let next = 0;
  return {
    async run(command) {
      let stdoutChars = 0;
      const pid = engine.pid!;
      const cpuBefore = processCpuSeconds(pid);
      const start = performance.now();
      const started = await shell.start({
        commandId: `floor-${next++}`,
        args: { command, workdir: '.' } as CommandArgs,
        basedir,
        send: (update) => {
          if ('stdout' in update && typeof update.stdout === 'string') stdoutChars += update.stdout.length;
        },
        log: () => undefined,
      });
      await started.done;
      const wallMs = performance.now() - start;
      return { wallMs, stdoutChars, stockCpuS: processCpuSeconds(pid) - cpuBefore };
    },
    async stop() {
      await engine.stop();
      rmSync(basedir, { recursive: true, force: true });
    },
  };
}

/** `count` runs of `true` through a bare stock worker, after `warmUp` uncounted ones: its own cost of a command. */
export async function stockTrueSamples(
  executable: string | undefined,
  count: number,
  warmUp: number,
): Promise<number[]> {
  const floor = await startStockFloor(executable);
  const samples: number[] = [];
  try {
    for (let i = 0; i < warmUp + count; i += 1) {
      const { wallMs } = await floor.run(['true']);
      if (i >= warmUp) samples.push(wallMs);
    }
  } finally {
    await floor.stop();
  }
  return samples;
}
