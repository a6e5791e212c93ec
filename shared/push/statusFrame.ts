// Owns a command record as frames (its final run, its `status`), and the topics a status change goes to.
import type { CommandItem } from '../commands/items.ts';
import { asStoredRun, decodeRun } from '../commands/runs.ts';
import type { StoredRun } from '../commands/runs.ts';
import { updateFrames } from './wire.ts';
import type { PushFrame, PushTopic, StatusFrame } from './wire.ts';

/** A command's record as a `status` frame. */
export function statusFrameOf(item: CommandItem): StatusFrame {
  const frame: StatusFrame = {
    type: 'status',
    commandId: item.commandId,
    worker: item.worker,
    command: item.command,
    status: item.status,
    acked: item.acked,
    createdAt: item.createdAt,
  };
  if (item.startedAt !== undefined) frame.startedAt = item.startedAt;
  if (item.completedAt !== undefined) {
    frame.completedAt = item.completedAt;
    frame.results = item.results;
    frame.rc = item.rc ?? null;
    frame.failure = item.failure ?? null;
  }
  if (item.interrupt !== undefined) frame.interrupted = { why: item.interrupt.why, at: item.interrupt.at };
  return frame;
}

/** The topics a status change goes to: the command, its worker, and everything. */
export function statusTopics(item: Pick<CommandItem, 'commandId' | 'worker'>): PushTopic[] {
  return [{ commandId: item.commandId }, { worker: item.worker }, { all: true }];
}

/** A stored run as frames: inline `updates`, or one `acked` when its text is in S3 (a large log) or too large. */
export function runFrames(commandId: string, run: StoredRun): PushFrame[] {
  // A run whose text is in S3 is announced, not read here.
  if (run.obj !== undefined && run.text === undefined)
    return [{ type: 'acked', commandId, from: run.first, acked: run.last }];
  return updateFrames(commandId, decodeRun(run));
}

/**
 * What a command record tells its subscribers, in one frame where it can: the record's `status` frame, with
 * the final run an ending stored on the record inline (`updates`) when it fits one frame. A final run too
 * large for that (or in S3) goes first as its own frames, then the `status`, always last. One post per
 * subscriber for a short command's completion, not two: each PostToConnection is a round trip the client
 * waits for, and a message on the bill. The fast path and the stream fan-out both post these, so they
 * cannot drift apart.
 */
export function commandFrames(item: CommandItem): PushFrame[] {
  const status = statusFrameOf(item);
  if (!item.finalRun) return [status];
  const frames = runFrames(item.commandId, asStoredRun({ ...item.finalRun }));
  const only = frames.length === 1 ? frames[0]! : undefined;
  if (only?.type === 'updates') return [{ ...status, updates: only.updates }];
  frames.push(status);
  return frames;
}
