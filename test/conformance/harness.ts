// The conformance harness: one stack, two agents (our engine and --engine buildbot-worker), one case through both.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { CommandView } from '../../shared/commands/wire.ts';
import { artifactObservation, fileObservation, withBlob } from './transfers.ts';
import type { ArtifactObservation } from './transfers.ts';
import { apiCaller, readUpdates, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import type { TestStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { spawnWorker } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

export const ENGINES = ['native', 'buildbot-worker'] as const;
export type Engine = (typeof ENGINES)[number];

/** One case: a command and its args, files made first in each engine's basedir, and an optional interrupt. */
export interface ConformanceCase {
  name: string;
  command: string;
  args: Record<string, unknown>;
  /** Shell commands run in the engine's basedir before the case (its files). */
  setup?: string;
  /** Interrupt once this text is in the command's stdout (or after the given ms). */
  interruptAfter?: { stdout?: string; ms?: number; why?: string };
  /** Seconds to wait for the command to complete. @default 30 */
  waitSeconds?: number;
  /** The start request's secrets ({NAME: value}); no value may show in what either engine sends. */
  secrets?: Record<string, string>;
  /** Bytes uploaded as a blob before the case, one blob per engine: its id goes in as args.blob (downloadFile). */
  blob?: Buffer;
  /** A file (relative to the basedir) whose mode, size and sha256 are observed afterwards (a download's). */
  inspect?: string;
}

/** What a case is compared on, each field normalised (normalise()). */
export interface Observation {
  rc: number | null;
  results: number | null;
  failure_kind: string | null;
  failure_message: string | null;
  stdout: string;
  stderr: string;
  header: string;
  logs: Record<string, string>;
  /** mode and size of a stat (inode, device and times vary by machine). */
  stat: number[] | null;
  files: string[] | null;
  /** The command's artifacts, each checked against the sha256 its engine recorded (transfers.ts). */
  artifacts: ArtifactObservation[];
  /** `inspect`'s [mode, size, sha256], or null when it does not exist. */
  file: [number, number, string] | null;
}

export const FIELDS = [
  'rc',
  'results',
  'failure_kind',
  'failure_message',
  'stdout',
  'stderr',
  'header',
  'logs',
  'stat',
  'files',
  'artifacts',
  'file',
] as const satisfies readonly (keyof Observation)[];

/** True when the stock worker can run here (it is Debian's buildbot-worker 3.7, or what --buildbot-worker names). */
export function buildbotWorkerAvailable(): boolean {
  try {
    execFileSync('buildbot-worker', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface Agents {
  workers: Record<Engine, RegisteredWorker>;
  procs: Record<Engine, WorkerProcess>;
}

export async function startAgents(stack: TestStack): Promise<Agents> {
  const workers = {} as Record<Engine, RegisteredWorker>;
  const procs = {} as Record<Engine, WorkerProcess>;
  for (const engine of ENGINES) {
    workers[engine] = await registerWorker(stack, engine === 'native' ? 'conf-native' : 'conf-stock');
    procs[engine] = await spawnWorker(stack, workers[engine], ['--concurrency', '2', '--engine', engine]);
  }
  return { workers, procs };
}

/**
 * Replaces what must vary between two runs: the engine's basedir (and its real path), elapsed times,
 * timestamps, pids, and the environment block of a shell header (each worker's own environment).
 */
export function normalise(text: string, basedir: string): string {
  let out = text.split(basedir).join('<basedir>');
  out = out.replace(/elapsedTime=[0-9.]+/g, 'elapsedTime=<t>');
  out = out.replace(/ environment:\n( {2}.*\n)*/g, ' environment:\n  <environ>\n');
  out = out.replace(/\bpid \d+/g, 'pid <pid>');
  out = out.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g, '<time>');
  return out;
}

async function interruptWhen(
  stack: TestStack,
  id: string,
  when: ConformanceCase['interruptAfter'],
): Promise<void> {
  if (!when) return;
  if (when.stdout !== undefined) {
    const wanted = when.stdout;
    await waitFor(
      `stdout of ${id} to show '${wanted}'`,
      async () =>
        (await readUpdates(stack, id))
          .map(([u]) => (typeof u.stdout === 'string' ? u.stdout : ''))
          .join('')
          .includes(wanted),
      20_000,
    );
  }
  if (when.ms) await new Promise((resolve) => setTimeout(resolve, when.ms));
  await apiCaller(stack)(stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, {
    why: when.why ?? 'test',
  });
}

/** Runs the case through one engine and observes it. */
export async function runOn(
  stack: TestStack,
  agents: Agents,
  engine: Engine,
  kase: ConformanceCase,
): Promise<{ observation: Observation; view: CommandView }> {
  const basedir = agents.procs[engine].basedir;
  if (kase.setup) execFileSync('sh', ['-c', kase.setup], { cwd: basedir });
  const extra = kase.secrets ? { secrets: kase.secrets } : {};
  const args = await withBlob(stack, kase.args, kase.blob);
  const id = await startCommand(stack, agents.workers[engine].name, kase.command, args, extra);
  await interruptWhen(stack, id, kase.interruptAfter);
  const view = await waitForCommand(stack, id, undefined, (kase.waitSeconds ?? 30) * 1000);
  const updates = (await readUpdates(stack, id)).map(([u]) => u);
  const text = (key: string): string =>
    normalise(updates.map((u) => (typeof u[key] === 'string' ? (u[key] as string) : '')).join(''), basedir);
  const logs: Record<string, string> = {};
  for (const u of updates)
    if (Array.isArray(u.log)) {
      const [name, chunk] = u.log as [string, string];
      logs[name] = (logs[name] ?? '') + normalise(chunk, basedir);
    }
  const stat = updates.find((u) => Array.isArray(u.stat))?.stat as number[] | undefined;
  const files = updates.find((u) => Array.isArray(u.files))?.files as string[] | undefined;
  return {
    view,
    observation: {
      rc: view.rc ?? null,
      results: view.results ?? null,
      failure_kind: view.failure?.kind ?? null,
      failure_message: view.failure ? normalise(view.failure.message, basedir) : null,
      stdout: text('stdout'),
      stderr: text('stderr'),
      header: text('header'),
      logs,
      stat: stat ? [stat[0]!, stat[6]!] : null,
      files: files ? files.map((f) => normalise(f, basedir)).sort() : null,
      artifacts: await artifactObservation(stack, id),
      file: kase.inspect ? await fileObservation(path.join(basedir, kase.inspect)) : null,
    },
  };
}

/** The basedir of an engine, for cases that look at the files afterwards. */
export function inBase(agents: Agents, engine: Engine, ...parts: string[]): string {
  return path.join(agents.procs[engine].basedir, ...parts);
}
