// The worker's options, their defaults, and the one way options meet defaults (withDefaults).
import type { SQSClient } from '@aws-sdk/client-sqs';
import { defaultRegistry } from './commands/registry.ts';
import type { CommandRegistry } from './commands/registry.ts';
import { stderrLogSink } from './log.ts';
import type { WorkerLogSink } from './log.ts';

export interface WorkerOptions {
  apiUrl: string;
  name: string;
  /** The worker's bearer token (POST /v1/workers shows it once). Never logged. */
  token: string;
  /** Every workdir and path is resolved inside this directory; it is created when missing. */
  basedir: string;
  /** Commands that run at once. @default 1 */
  concurrency?: number;
  /** Send output once this many bytes wait. @default 65536 */
  bufferBytes?: number;
  /** Send output at most this long after it was produced, in ms. @default 100 */
  bufferMs?: number;
  /** stop() interrupts running commands instead of letting them finish. @default false */
  interruptOnShutdown?: boolean;
  /** Progress lines (one per command start and finish, and problems). @default a timestamped line on stderr */
  log?: WorkerLogSink;
  /** The commands this worker runs. @default shell, mkdir, rmdir, cpdir, stat, glob, listdir, rmfile */
  registry?: CommandRegistry;
  /** The SQS client for the worker's queue. @default sqsClient() (endpoint and credentials from the environment) */
  sqs?: SQSClient;
}

/** The engines `bbs worker --engine` runs commands with. */
export const WORKER_ENGINES = ['native', 'buildbot-worker'] as const;
export type WorkerEngineName = (typeof WORKER_ENGINES)[number];

/**
 * The command line's choice of engine, which workerMain acts on: for 'buildbot-worker' it starts the stock
 * worker (worker/engines/stockWorker.ts) and passes its registry to runWorker, which knows no engines.
 */
export interface EngineChoice {
  /** @default 'native' (our own commands) */
  engine?: WorkerEngineName;
  /** The buildbot-worker program. @default 'buildbot-worker', found on PATH */
  buildbotWorker?: string;
}

/** Every default of WorkerOptions but `sqs`, which is made only when none is given (it reads the environment). */
export const WORKER_DEFAULTS = Object.freeze({
  concurrency: 1,
  bufferBytes: 64 * 1024,
  bufferMs: 100,
  interruptOnShutdown: false,
  log: stderrLogSink,
  registry: defaultRegistry(),
});

/**
 * `{...defaults, ...opts}`, frozen, except that an option given as `undefined` keeps its default (as `??`
 * would): parseWorkerArgs leaves the flags that were not given undefined.
 */
export function withDefaults<D extends object, O extends object>(defaults: D, opts: O): Readonly<O & D> {
  const merged: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(opts)) if (value !== undefined) merged[key] = value;
  return Object.freeze(merged) as Readonly<O & D>;
}
