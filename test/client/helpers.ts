import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';

/**
 * A real local stack with one real worker process, started through `bbs worker` (bin/bbs.mjs), for the
 * client and CLI behaviour tests.
 */
const BBS = fileURLToPath(new URL('../../bin/bbs.mjs', import.meta.url));

export interface StackWithWorker {
  stack: LocalStack;
  /** A client-role CommandsClient. */
  api: CommandsClient;
  workerName: string;
  basedir: string;
  worker: ChildProcess;
  /** Everything the worker wrote so far (for failure messages). */
  workerOutput(): string;
  stop(): Promise<void>;
}

export async function startStackWithWorker(prefix: string): Promise<StackWithWorker> {
  const stack = await startLocalStack();
  const admin = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.admin });
  const workerName = `${prefix}-${process.pid}`;
  const { token } = await admin.registerWorker(workerName);
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
  // The worker says ": polling " once its first heartbeat has registered its commands.
  const deadline = Date.now() + 20_000;
  while (!output.includes(': polling ')) {
    if (worker.exitCode !== null || Date.now() > deadline) {
      worker.kill('SIGKILL');
      await stack.stop();
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
    async stop() {
      if (worker.exitCode === null) {
        // SIGTERM twice: stop polling, then interrupt whatever still runs; SIGKILL if it hangs.
        worker.kill('SIGTERM');
        worker.kill('SIGTERM');
        const killer = setTimeout(() => worker.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      await stack.stop();
      await rm(basedir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` is true, for at most `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
