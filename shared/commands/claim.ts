// Owns POST /v1/commands/{id}/start, the worker's claim: queued → running, bound to the calling worker.
import type { WriteOutcome } from '../aws/conditionalWrite.ts';
import type { CommandsContext } from './context.ts';
import { CommandNotFoundError, CommandStateError } from './errors.ts';
import { checkCommandId } from './ids.ts';
import { argsOf, requireOwner, updateCommand } from './items.ts';
import type { CommandItem } from './items.ts';
import { rememberRecord } from './recordCache.ts';
import { pushStatus } from '../push/fastPath.ts';
import { COMMAND_STATUS } from './types.ts';
import type { CommandStatus } from './types.ts';
import type { ClaimResponse } from './wire.ts';

/**
 * POST /v1/commands/{id}/start: queued → running, bound to the calling worker. One write, no read.
 *
 * The start deadline stays as the pending deadline when the start timeout is no longer than the heartbeat
 * timeout (the defaults): it then comes no later than a heartbeat deadline set now would, and leaving it
 * costs no index write (moving a GSI key is a delete and a put). The watchdog, which reads the record
 * anyway, then judges a running command by startedAt (and the deadline the updates refresh), see
 * watchdog.ts. A longer start timeout would leave the command unwatched too long: that claim moves it.
 *
 * `claimToken` (the worker's name for this claim) is stored with the claim. A lost answer: the claim landed,
 * its answer did not reach the worker, and the worker's retry finds the command running. When the retry carries
 * the same token, it is the same claim, and it gets the same answer back (no write) instead of 409, so the
 * command runs once rather than never. Any other claim (another token, none, another worker) still gets 409.
 */
export async function claimCommand(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
  claimToken?: string,
): Promise<ClaimResponse> {
  checkCommandId(commandId);
  const now = ctx.now();
  const kept = await claimWrite(ctx, workerName, commandId, now, { moveDeadline: false, claimToken });
  if (kept.won) return claimResponse(kept.item);
  if (!kept.old) throw new CommandNotFoundError(commandId);
  requireOwner(kept.old, workerName);
  if (isSameClaim(kept.old, claimToken)) return claimResponse(kept.old);
  if (kept.old.status !== COMMAND_STATUS.queued) throw notClaimable(commandId, kept.old.status);
  // Queued and ours: its start timeout is longer than its heartbeat timeout (or it changed meanwhile).
  const moved = await claimWrite(ctx, workerName, commandId, now, { moveDeadline: true, claimToken });
  if (moved.won) return claimResponse(moved.item);
  if (!moved.old) throw new CommandNotFoundError(commandId);
  if (isSameClaim(moved.old, claimToken)) return claimResponse(moved.old);
  throw notClaimable(commandId, moved.old.status);
}

/** The record is running under this very claim: a retry whose first answer was lost. */
function isSameClaim(item: CommandItem, claimToken: string | undefined): boolean {
  return claimToken !== undefined && item.status === COMMAND_STATUS.running && item.claimToken === claimToken;
}

function notClaimable(commandId: string, status: CommandStatus): CommandStateError {
  return new CommandStateError(
    commandId,
    status,
    'only a queued command can be claimed; delete the message and run nothing',
  );
}

async function claimWrite(
  ctx: CommandsContext,
  workerName: string,
  commandId: string,
  now: number,
  opts: { moveDeadline: boolean; claimToken?: string },
): Promise<WriteOutcome<CommandItem>> {
  // Race: a duplicate SQS delivery (two pollers, or a redelivery) claims twice; an interrupt or the
  // watchdog ends the queued command at the same moment.
  //   claim A: update if status = queued ✓ → runs     claim B / interrupt / watchdog: condition ✗ → 409 / lost
  // The first write wins: exactly one claim runs the command, and a cancelled or timed-out command never runs.
  // Named parts: `stillQueued` and `ownedByWorker` (queued, this worker's); `keepsDeadline` (start timeout ≤
  // heartbeat timeout), dropped by the claim that moves the deadline.
  // A claim that names itself (claimToken) stores the name, for its retry after a lost answer.
  const setToken = opts.claimToken === undefined ? '' : ', claimToken = :claimToken';
  const outcome = await updateCommand(ctx, commandId, {
    update: opts.moveDeadline
      ? `SET #status = :running, startedAt = :now, deadline = heartbeatTimeoutMs + :now${setToken}`
      : `SET #status = :running, startedAt = :now${setToken}`,
    condition: {
      stillQueued: '#status = :queued',
      ownedByWorker: 'worker = :worker',
      ...(opts.moveDeadline ? {} : { keepsDeadline: 'startTimeoutMs <= heartbeatTimeoutMs' }),
    },
    values: {
      ':running': COMMAND_STATUS.running,
      ':queued': COMMAND_STATUS.queued,
      ':worker': workerName,
      ':now': now,
      ...(opts.claimToken === undefined ? {} : { ':claimToken': opts.claimToken }),
    },
  });
  if (outcome.won) {
    rememberRecord(ctx, outcome.item);
    await pushStatus(outcome.item);
  }
  return outcome;
}

function claimResponse(item: CommandItem): ClaimResponse {
  return {
    commandId: item.commandId,
    command: item.command,
    args: argsOf(item),
    heartbeatTimeout: item.heartbeatTimeoutMs / 1000,
  };
}
