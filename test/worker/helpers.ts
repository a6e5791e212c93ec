import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiRequest } from '../../shared/client/http.ts';
import { LOG_HEADERS } from '../../shared/commands/wire.ts';
import type { CommandView } from '../../shared/commands/wire.ts';
import type { LocalStack } from '../../local/index.ts';

/**
 * Behaviour-test helpers: a real worker OS process (`node --import tsx worker/main.ts`) against the
 * real local stack, driven and read through the public HTTP API.
 */
const MAIN = new URL('../../worker/main.ts', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;
export const PARTIAL_WORKER = new URL('./fixtures/partialWorker.ts', import.meta.url).pathname;

export interface RegisteredWorker {
  name: string;
  token: string;
  queueUrl: string;
}

let counter = 0;

export async function registerWorker(stack: LocalStack, prefix = 'w'): Promise<RegisteredWorker> {
  const name = `${prefix}-${process.pid}-${++counter}`;
  return apiRequest<RegisteredWorker>(
    { apiUrl: stack.apiUrl, token: stack.tokens.admin },
    'POST',
    '/v1/workers',
    {
      body: { name },
    },
  );
}

export interface WorkerProcess {
  child: ChildProcess;
  basedir: string;
  /** Everything the worker wrote to stderr so far. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the worker and resolves once it polls its queue (its first heartbeat succeeded). */
export async function spawnWorker(
  stack: LocalStack,
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
  const deadline = Date.now() + 20_000;
  while (!text.includes(': polling ')) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`worker did not start polling; its output:\n${text}`);
    await sleep(50);
  }
  return { child, basedir: dir, output: () => text, exited };
}

export function clientApi(stack: LocalStack): { apiUrl: string; token: string } {
  return { apiUrl: stack.apiUrl, token: stack.tokens.client };
}

export async function startCommand(
  stack: LocalStack,
  worker: string,
  command: string,
  args: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const answer = await apiRequest<{ commandId: string }>(clientApi(stack), 'POST', '/v1/commands', {
    body: { worker, command, args, ...extra },
  });
  return answer.commandId;
}

export function getCommand(stack: LocalStack, id: string): Promise<CommandView> {
  return apiRequest<CommandView>(clientApi(stack), 'GET', `/v1/commands/${id}`);
}

/** Polls GET /v1/commands/{id} until `done` holds, for at most timeoutMs. */
export async function waitForCommand(
  stack: LocalStack,
  id: string,
  done: (view: CommandView) => boolean = (view) => view.status === 'complete',
  timeoutMs = 20_000,
): Promise<CommandView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await getCommand(stack, id);
    if (done(view)) return view;
    if (Date.now() > deadline)
      throw new Error(`command ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(view)}`);
    await sleep(50);
  }
}

/** The whole text of a log, following its pages (x-bbs-next-seq) until the last one. */
export async function readLog(stack: LocalStack, id: string, name = 'stdio'): Promise<string> {
  let text = '';
  let after = -1;
  for (let page = 0; page < 1000; page++) {
    const response = await fetch(`${stack.apiUrl}/v1/commands/${id}/logs/${name}?after=${after}`, {
      headers: { authorization: `Bearer ${stack.tokens.client}` },
    });
    if (!response.ok)
      throw new Error(`GET log ${name} answered ${response.status}: ${await response.text()}`);
    const chunk = await response.text();
    text += chunk;
    const next = Number(response.headers.get(LOG_HEADERS.nextSeq));
    if (chunk === '' || next === after) return text;
    after = next;
  }
  throw new Error(`log ${name} of ${id} has more than 1000 pages`);
}

export interface UpdatesPage {
  updates: [Record<string, unknown>, number][];
}

export async function readUpdates(
  stack: LocalStack,
  id: string,
): Promise<[Record<string, unknown>, number][]> {
  const all: [Record<string, unknown>, number][] = [];
  let after = -1;
  for (;;) {
    const page = await apiRequest<UpdatesPage>(
      clientApi(stack),
      'GET',
      `/v1/commands/${id}/updates?after=${after}`,
    );
    if (page.updates.length === 0) return all;
    all.push(...page.updates);
    after = page.updates[page.updates.length - 1]![1];
  }
}

/** Stops a worker process with SIGTERM (or the given signal) and waits for it, at most 15 s. */
export async function stopWorker(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill(signal);
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 15_000);
  await worker.exited;
  clearTimeout(timer);
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
