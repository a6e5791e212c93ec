// `bbs worker`: hands its argv to the worker agent, loaded only for this subcommand.
import type { Io } from './io.ts';

/**
 * `bbs worker ...`: the worker agent's own argv entry (worker/index.ts), loaded only for this subcommand
 * so that the other subcommands start without it.
 */
export async function workerCommand(argv: string[], _io: Io): Promise<number> {
  const { workerMain } = await import('../worker/index.ts');
  return workerMain(argv);
}
