// Worker behaviour tests' moves: a real worker OS process (`node --import tsx worker/main.ts`) on a local stack.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackFixture } from '../support/fixture.ts';
import { useStack } from '../support/stack.ts';
import type { StackAddress, TestStack } from '../support/stack.ts';
import { registerWorker } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';

/** The worker process is driven and read through the public HTTP API, with test/support/api.ts. */
const MAIN = new URL('../../worker/main.ts', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;
export const PARTIAL_WORKER = new URL('./fixtures/partialWorker.ts', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  basedir: string;
  /** True when spawnWorker made the base directory, and so removes it when the worker is stopped. */
  ownsBasedir: boolean;
  /** Everything the worker wrote to stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the worker and resolves once it polls its queue (its first heartbeat succeeded). */
export async function spawnWorker(
  stack: StackAddress,
  worker: RegisteredWorker,
  extraArgs: string[] = [],
  basedir?: string,
  opts: { script?: string; env?: Record<string, string> } = {},
): Promise<WorkerProcess> {
  const dir = basedir ?? (await mkdtemp(path.join(tmpdir(), 'bbs-worker-')));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      opts.script ?? MAIN,
      '--api-url',
      stack.apiUrl,
      '--name',
      worker.name,
      '--basedir',
      dir,
      ...extraArgs,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...stack.env, ...opts.env, BBS_WORKER_TOKEN: worker.token },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const proc = { child, basedir: dir, ownsBasedir: basedir === undefined, output: () => text, exited };
  const deadline = Date.now() + 20_000;
  while (!text.includes(': polling ')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopWorker(proc, 'SIGKILL');
      throw new Error(`worker did not start polling; its output:\n${text}`);
    }
    await sleep(50);
  }
  return proc;
}

/**
 * Stops a worker process with SIGTERM (or the given signal) and waits for it, at most 15 s; then removes the base
 * directory that spawnWorker made for it (one passed in is the caller's to remove).
 */
export async function stopWorker(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (worker.child.exitCode === null && worker.child.signalCode === null) {
    worker.child.kill(signal);
    const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
    await worker.exited;
    clearTimeout(timer);
  }
  if (worker.ownsBasedir) await rm(worker.basedir, { recursive: true, force: true });
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while a process with this pid runs; a zombie (dead, not yet reaped by whoever adopted it) is not running. */
export function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    // No /proc (not Linux), or gone in between: trust kill(pid, 0).
    return alive(pid);
  }
}

/** The file's stack (stackFixture's hooks) and the worker processes its tests start, SIGKILLed before it is released. */
export function workerStackFixture(start: () => Promise<TestStack>): {
  readonly stack: TestStack;
  started: WorkerProcess[];
} {
  const started: WorkerProcess[] = [];
  const fixture = stackFixture(start, {
    beforeRelease: async () => {
      for (const proc of started) await stopWorker(proc, 'SIGKILL');
    },
  });
  return {
    get stack() {
      return fixture.stack;
    },
    started,
  };
}

/** The file's stack and one registered worker process (`bbs worker` with `extraArgs`), started before its tests. */
export function oneWorkerFixture(
  prefix: string,
  extraArgs: string[] = [],
): { readonly stack: TestStack; readonly worker: RegisteredWorker; readonly proc: WorkerProcess } {
  let worker: RegisteredWorker | undefined;
  let proc: WorkerProcess | undefined;
  // One before hook: the worker starts inside the stack's (a second top-level hook may run ahead of it).
  const fixture = stackFixture(
    async () => {
      const stack = await useStack();
      worker = await registerWorker(stack, prefix);
      proc = await spawnWorker(stack, worker, extraArgs);
      return stack;
    },
    { beforeRelease: async () => (proc ? stopWorker(proc) : undefined) },
  );
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the worker is read before its before hook ran');
    return value;
  };
  return {
    get stack() {
      return fixture.stack;
    },
    get worker() {
      return ready(worker);
    },
    get proc() {
      return ready(proc);
    },
  };
}
