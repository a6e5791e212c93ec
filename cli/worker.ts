// `bbs worker`: register, rotate or delete a worker (workers.ts), or hand its argv to the worker agent.
import type { Io } from './io.ts';
import { WORKER_ADMIN, workerAdminCommand } from './workers.ts';

/**
 * `bbs worker ...`: the worker agent's own argv entry (worker/index.ts), loaded only for this subcommand
 * so that the other subcommands start without it.
 */
export async function workerCommand(argv: string[], io: Io): Promise<number> {
  if (WORKER_ADMIN.has(argv[0] ?? '')) return workerAdminCommand(argv, io);
  const { workerMain } = await import('../worker/index.ts');
  return workerMain(argv);
}
