// A real `bbs worker` process (bin/bbs.mjs) on the test stack, for the client and CLI behaviour tests.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { registerWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

const BBS = fileURLToPath(new URL('../../bin/bbs.mjs', import.meta.url));

export interface StackWithWorker {
  stack: TestStack;
  /** A client-role CommandsClient. */
  api: CommandsClient;
  workerName: string;
  basedir: string;
  worker: ChildProcess;
  /** Everything the worker wrote so far (for failure messages). */
  workerOutput(): string;
  /** Stops the worker, removes its base directory and releases the stack. */
  stop(): Promise<void>;
}

/** Registers a worker named after `prefix` on the test stack (shared or its own) and starts it with `bbs worker`. */
export async function startWorkerOnStack(prefix: string): Promise<StackWithWorker> {
  const stack = await useStack();
  const { name: workerName, token } = await registerWorker(stack, prefix);
  const basedir = await mkdtemp(path.join(tmpdir(), `bbs-${prefix}-`));
  const worker = spawn(
    process.execPath,
    [
      BBS,
      'worker',
      '--api-url',
      stack.apiUrl,
      '--name',
      workerName,
      '--token',
      token,
      '--basedir',
      basedir,
      '--concurrency',
      '4',
    ],
    { env: { ...process.env, ...stack.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  worker.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  worker.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  async function stop(): Promise<void> {
    if (worker.exitCode === null && worker.signalCode === null) {
      // SIGTERM twice: stop polling, then interrupt whatever still runs; SIGKILL if it hangs.
      worker.kill('SIGTERM');
      worker.kill('SIGTERM');
      const killer = setTimeout(() => worker.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    await stack.release();
    await rm(basedir, { recursive: true, force: true });
  }
  // The worker says ": polling " once its first heartbeat has registered its commands.
  const deadline = Date.now() + 20_000;
  while (!output.includes(': polling ')) {
    if (worker.exitCode !== null || Date.now() > deadline) {
      worker.kill('SIGKILL');
      await stop();
      throw new Error(`the worker did not start polling; its output:\n${output}`);
    }
    await sleep(50);
  }
  return {
    stack,
    api: new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client }),
    workerName,
    basedir,
    worker,
    workerOutput: () => output,
    stop,
  };
}
