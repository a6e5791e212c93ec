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
 * What a command record tells its subscribers, in order: the final run an ending stored on the record (it
 * comes before the completion), then the record's `status` frame, always last. The fast path and the stream
 * fan-out both post these, so they cannot drift apart.
 */
export function commandFrames(item: CommandItem): PushFrame[] {
  const frames = item.finalRun ? runFrames(item.commandId, asStoredRun({ ...item.finalRun })) : [];
  frames.push(statusFrameOf(item));
  return frames;
}
