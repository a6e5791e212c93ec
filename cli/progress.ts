// `bbs run`'s progress lines on stderr: which command started where, and why a queued one is still waiting.
import type { CommandsClient } from '../shared/client/CommandsClient.ts';
import { ApiError } from '../shared/client/errors.ts';
import type { WorkerView } from '../shared/workers/types.ts';
import type { Io } from './io.ts';

/** How long a command may sit in the queue before `bbs run` says why it waits. @default 2000 ms */
export const QUEUED_NOTICE_MS = 2_000;

/**
 * After `delayMs`, if the command is still queued, writes one line saying why: its worker is offline (and
 * when it was last seen) or busy (running as many as its concurrency). Returns the function that cancels it.
 * The check is two reads (GET /v1/commands/{id}, GET /v1/workers/{name}), made once.
 */
export function noticeWhileQueued(
  api: CommandsClient,
  opts: { commandId: string; worker: string; io: Io; delayMs?: number },
): () => void {
  const timer = setTimeout(() => {
    void explainWait(api, opts).catch(() => undefined); // a notice is best effort: run() reports real errors
  }, opts.delayMs ?? QUEUED_NOTICE_MS);
  timer.unref();
  return () => clearTimeout(timer);
}

async function explainWait(
  api: CommandsClient,
  opts: { commandId: string; worker: string; io: Io },
): Promise<void> {
  const view = await api.getCommand(opts.commandId);
  if (view.status !== 'queued') return;
  let worker: WorkerView;
  try {
    worker = await api.getWorker(opts.worker);
  } catch (error) {
    if (error instanceof ApiError) return;
    throw error;
  }
  await opts.io.writeErr(`bbs: ${opts.commandId} is still queued: ${waitReason(worker)}\n`);
}

/** Why a worker has not claimed a command yet, in words. */
export function waitReason(worker: WorkerView): string {
  if (worker.presence === 'offline') {
    const seen = worker.lastSeenAt === null ? 'never seen' : `last seen ${worker.lastSeenAt}`;
    return `worker ${worker.name} is offline (${seen}); it runs the command when it comes back, or the start timeout ends it`;
  }
  if (worker.running !== null && worker.concurrency !== null && worker.running >= worker.concurrency)
    return `worker ${worker.name} is busy (running ${worker.running} of ${worker.concurrency}); the command waits its turn`;
  const silentMs = worker.lastSeenAt === null ? 0 : Date.now() - Date.parse(worker.lastSeenAt);
  if (silentMs > worker.heartbeatIntervalMs * 1.5)
    return `worker ${worker.name} has not been heard from for ${Math.round(silentMs / 1000)} s (it heartbeats every ${worker.heartbeatIntervalMs / 1000} s): it may have stopped; it counts as offline after ${worker.offlineAfterMs / 1000} s, and the command ends at its start timeout if nobody claims it`;
  return `worker ${worker.name} is online (last seen ${worker.lastSeenAt ?? 'never'}) and has not claimed it yet`;
}
