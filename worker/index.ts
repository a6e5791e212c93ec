/** The worker agent's public entry point (docs/worker.md); `bbs worker` calls workerMain. */
export { runWorker } from './worker.ts';
export type { RunningWorker, StopOptions } from './worker.ts';
export type { WorkerOptions } from './options.ts';
export { workerMain, workerMain as main, parseWorkerArgs, WORKER_USAGE } from './main.ts';
export type { WorkerLogSink } from './log.ts';
export { defaultRegistry } from './commands/registry.ts';
export type { CommandRegistry } from './commands/registry.ts';
export type { CommandContext, StartedCommand, WorkerCommand } from './commands/types.ts';
export { CommandStartError, PathEscapeError, UpdateDeliveryError, WorkerUsageError } from './errors.ts';
