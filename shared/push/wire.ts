// Owns the push frames: what a WebSocket client sends (subscribe, unsubscribe, ping) and what the server posts to it.
import * as LIMITS from '../limits.ts';
import * as v from 'valibot';
import { commandId, workerName } from '../commands/wire.ts';
import type { SequencedUpdate } from '../commands/apiTypes.ts';
import type { CommandFailure, CommandStatus, Results } from '../commands/types.ts';
import { fields } from '../schema.ts';
import type { Infer } from '../schema.ts';

/*
 * Every frame is one JSON text message (API Gateway WebSocket APIs refuse binary frames from clients and cap a
 * message at 128 KB). docs/client.md, "Push", describes the same frames for other clients (the web console).
 *
 * Client → server, routed by `action` (the API's route selection expression is `$request.body.action`):
 *   {action: 'subscribe',   commandId}     one command: its status changes, acked seqs and updates
 *   {action: 'subscribe',   worker}        one worker's commands: their status changes only
 *   {action: 'subscribe',   all: true}     every command: status changes only
 *   {action: 'unsubscribe', ...the same topic}
 *   {action: 'ping'}                       keeps an idle connection open (API Gateway closes one after 10 minutes)
 *
 * Server → client (`type`):
 *   subscribed    the topic is armed: read what happened before it once over HTTP, then follow the frames
 *   unsubscribed  the topic is off
 *   pong          the answer to a ping
 *   status        a command's record: queued, running, complete (results, rc, failure, timings when complete);
 *                 a completion carries its final updates inline (`updates`) when they are small
 *   updates       acked updates carried inline (a run of seqs, consecutive, ascending)
 *   acked         acked moved to `acked`, updates `from`..`acked` too large to carry: GET .../updates?after=from-1
 *   error         the last message was refused (a `code` as the HTTP API's, and a message a person can act on)
 *
 * Frames arrive at least once and possibly out of order: the fast path (the writing handler) and the stream
 * fan-out (the backstop) both post. A client keeps the highest seq it has and ignores updates at or below it,
 * and never lets a status go back (queued < running < complete).
 */

/** What one subscription follows. */
export type PushTopic = { commandId: string } | { worker: string } | { all: true };

const subscribeAction = v.picklist(['subscribe', 'unsubscribe']);

/** A message from a client, as the `$default` route parses it. */
export const pushClientMessage = v.union([
  fields({ action: subscribeAction, commandId }),
  fields({ action: subscribeAction, worker: workerName }),
  fields({ action: subscribeAction, all: v.literal(true) }),
  fields({ action: v.literal('ping') }),
]);
export type PushClientMessage = Infer<typeof pushClientMessage>;

/** The topic of a subscribe or unsubscribe message. */
export function topicOf(message: PushClientMessage): PushTopic | undefined {
  if ('commandId' in message) return { commandId: message.commandId };
  if ('worker' in message) return { worker: message.worker };
  if ('all' in message) return { all: true };
  return undefined;
}

export interface SubscribedFrame {
  type: 'subscribed' | 'unsubscribed';
  topic: PushTopic;
  /**
   * For a command's subscription, the command as it stood once the subscription was stored (read after it):
   * a follower that already has every update up to `snapshot.acked` needs no read of its own.
   */
  snapshot?: StatusFrame;
}

export interface PongFrame {
  type: 'pong';
}

export interface StatusFrame {
  type: 'status';
  commandId: string;
  worker: string;
  command: string;
  status: CommandStatus;
  /** Every update with seq ≤ acked is stored (-1: none yet). */
  acked: number;
  createdAt?: number;
  startedAt?: number;
  /** Set once complete, as are results, rc and failure. */
  completedAt?: number;
  results?: Results;
  rc?: number | null;
  failure?: CommandFailure | null;
  /** Set when an interrupt was asked for (a running command stops within about a second); `at` in ms. */
  interrupted?: { why: string; at: number };
  /**
   * On a completion only: the final updates the ending stored, inline (consecutive, ascending, ending at
   * `acked`, within LIMITS.pushInlineBytes), so that one post tells a subscriber everything. Absent when there
   * were none or they were too large: then `updates`/`acked` frames came before this one, and `acked` says
   * how far to read. A client that ignores the field reads them over HTTP as `acked` tells it.
   */
  updates?: SequencedUpdate[];
}

export interface UpdatesFrame {
  type: 'updates';
  commandId: string;
  /** Consecutive, ascending; every one is stored. */
  updates: SequencedUpdate[];
}

export interface AckedFrame {
  type: 'acked';
  commandId: string;
  /** The first seq this frame announces (read from `from - 1` on with GET .../updates?after=). */
  from: number;
  acked: number;
}

export interface ErrorFrame {
  type: 'error';
  code: string;
  message: string;
}

/** Every frame the server posts. */
export type PushFrame = SubscribedFrame | PongFrame | StatusFrame | UpdatesFrame | AckedFrame | ErrorFrame;

/** A frame's text; JSON.parse of it gives the frame back. */
export function encodeFrame(frame: PushFrame): string {
  return JSON.stringify(frame);
}

/**
 * A frame read from a socket, or undefined when the text is not one (an unknown `type` is passed on: a newer
 * server's frame, which a client ignores).
 */
export function decodeFrame(text: string): PushFrame | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string')
    return undefined;
  return value as PushFrame;
}

/**
 * `updates` frames of at most LIMITS.pushInlineBytes each for a run of stored updates, or one `acked` frame for
 * the run (from its first seq) when one update alone is larger.
 */
/** Browser-safe byte counts (no Buffer): the web console imports this file. */
const utf8 = new TextEncoder();

export function updateFrames(id: string, updates: SequencedUpdate[]): Array<UpdatesFrame | AckedFrame> {
  const frames: Array<UpdatesFrame | AckedFrame> = [];
  let batch: SequencedUpdate[] = [];
  let size = 0;
  for (let i = 0; i < updates.length; i++) {
    const entry = updates[i]!;
    const bytes = utf8.encode(JSON.stringify(entry)).length + 1;
    if (bytes > LIMITS.pushInlineBytes) {
      if (batch.length > 0) frames.push({ type: 'updates', commandId: id, updates: batch });
      const last = updates[updates.length - 1]![1];
      frames.push({ type: 'acked', commandId: id, from: entry[1], acked: last });
      return frames;
    }
    if (size + bytes > LIMITS.pushInlineBytes && batch.length > 0) {
      frames.push({ type: 'updates', commandId: id, updates: batch });
      batch = [];
      size = 0;
    }
    batch.push(entry);
    size += bytes;
  }
  if (batch.length > 0) frames.push({ type: 'updates', commandId: id, updates: batch });
  return frames;
}
