// Owns a command record as a `status` frame, and the topics a status change goes to.
import type { CommandItem } from '../commands/items.ts';
import type { PushTopic, StatusFrame } from './wire.ts';

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
