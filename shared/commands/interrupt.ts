// Owns POST /v1/commands/{id}/interrupt: end a queued command as CANCELLED, or flag a running one and tell its worker.
import { loadWorkerRecord } from '../workers/records.ts';
import type { InterruptOutcome } from './apiTypes.ts';
import { endCommand } from './completions.ts';
import type { CommandsContext } from './context.ts';
import { CommandRecordUnusableError, CommandStateError, isRecordFault } from './errors.ts';
import { checkCommandId } from './ids.ts';
import { asCommandItem, loadCommand, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { COMMAND_STATUS, FAILURE_KINDS } from './types.ts';
import { sendWorkerMessage } from './workerMessages.ts';

export const DEFAULT_INTERRUPT_WHY = 'interrupted by a client';

/**
 * POST /v1/commands/{id}/interrupt. Queued: ends at once as CANCELLED. Running: flagged on the record (the
 * next updates ack carries it) and announced by a control message on the worker's queue, which its long
 * poll receives within a second. Complete: a no-op, as Buildbot's interrupt of an inactive command.
 */
export async function interruptCommand(
  ctx: CommandsContext,
  commandId: string,
  why: string = DEFAULT_INTERRUPT_WHY,
): Promise<InterruptOutcome> {
  checkCommandId(commandId);
  try {
    return await interruptRounds(ctx, commandId, why);
  } catch (error) {
    // A damaged or over-limit record (planted, or grown before the edge bounded it) is the record's fault,
    // not the server's: a 409 that says so, and nothing changed.
    if (isRecordFault(error)) throw new CommandRecordUnusableError(commandId, { cause: error });
    throw error;
  }
}

async function interruptRounds(
  ctx: CommandsContext,
  commandId: string,
  why: string,
): Promise<InterruptOutcome> {
  // Each lost race moves the command forward (queued → running → complete), so three rounds always end.
  for (let attempt = 0; attempt < 3; attempt++) {
    // Decoded before any write: a malformed record is refused, never half-changed.
    const item = asCommandItem({ ...(await loadCommand(ctx, commandId)) });
    if (item.status === COMMAND_STATUS.complete)
      return {
        commandId,
        status: item.status,
        interrupted: item.interrupt !== undefined || item.failure?.kind === FAILURE_KINDS.interrupted,
      };
    if (item.status === COMMAND_STATUS.queued) {
      const ended = await endCommand(ctx, item, COMMAND_STATUS.queued, {
        kind: FAILURE_KINDS.interrupted,
        message: why,
      });
      if (ended) return { commandId, status: ended.status, interrupted: true };
      continue;
    }
    if (item.interrupt) return { commandId, status: item.status, interrupted: true };
    if (await flagInterrupt(ctx, item, why)) {
      const worker = await loadWorkerRecord(ctx, item.worker);
      if (worker) await sendWorkerMessage(ctx, worker.queueUrl, { type: 'interrupt', commandId, why });
      return { commandId, status: item.status, interrupted: true };
    }
  }
  throw new CommandStateError(
    commandId,
    COMMAND_STATUS.running,
    'it changed state under three interrupt attempts',
  );
}

async function flagInterrupt(ctx: CommandsContext, item: CommandItem, why: string): Promise<boolean> {
  // Race: the worker completes while a client interrupts; two clients interrupt at once.
  //   client: flag if running AND no flag ✓        worker: complete ✓ first → client ✗ → re-reads, sees complete (no-op)
  // The first write wins; a command is flagged once, and a finished command is never flagged.
  const outcome = await updateCommand(ctx, item.commandId, {
    update: 'SET interrupt = :interrupt',
    condition: { stillRunning: '#status = :running', notFlagged: 'attribute_not_exists(interrupt)' },
    values: { ':interrupt': { why, at: ctx.now() }, ':running': COMMAND_STATUS.running },
  });
  return outcome.won;
}
