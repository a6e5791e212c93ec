// Owns following a command's updates push-first: subscribe, read once what came before, then frames; polling when the socket fails.
import type { SequencedUpdate, UpdatesPage } from '../commands/apiTypes.ts';
import type { StatusFrame } from '../push/wire.ts';
import { PushUnavailableError } from './errors.ts';
import { STATUS_ORDER } from './pushSocket.ts';
import type { PushSocket, Subscription } from './pushSocket.ts';

/*
 * The race a push follower closes: updates stored before the subscription was armed reach no frame. So the
 * order is subscribe (wait for `subscribed`), then one read over HTTP from `after`, then frames. Frames may
 * repeat what the read gave, repeat each other (the fast path and the stream fan-out both post) or arrive out
 * of order: an update is yielded only when its seq is the next one (after + 1); a frame that leaves a gap, an
 * `acked` announcement, or an ack with no frame carrying it within ACK_GRACE_MS, is filled by a read. When the
 * socket drops, the follower polls from the last seq it yielded: nothing lost, nothing repeated.
 */

/** How long an acked seq may go without the frame that carries it before the follower reads it. @default 250 ms */
export const ACK_GRACE_MS = 250;

/** What the push follower needs of CommandsClient. */
export interface UpdatesSource {
  getUpdates(commandId: string, after: number, opts: { signal?: AbortSignal }): Promise<UpdatesPage>;
  pollUpdates(commandId: string, after: number, signal?: AbortSignal): AsyncGenerator<SequencedUpdate>;
}

export interface PushFollowOptions {
  after: number;
  signal?: AbortSignal;
  /** Called with the command's last status frame once it is complete (run() builds its view from it). */
  onComplete?: (frame: StatusFrame) => void;
}

type Event =
  | { kind: 'updates'; updates: SequencedUpdate[] }
  | { kind: 'read' }
  | { kind: 'status'; frame: StatusFrame }
  | { kind: 'dropped' };

export async function* followWithPush(
  source: UpdatesSource,
  push: PushSocket,
  commandId: string,
  opts: PushFollowOptions,
): AsyncGenerator<SequencedUpdate> {
  let after = opts.after;
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  const notify = (event: Event) => {
    events.push(event);
    wake?.();
  };
  let subscription: Subscription & { snapshot?: StatusFrame };
  try {
    subscription = await push.subscribe(commandId, {
      frame(frame) {
        if (frame.type === 'updates') notify({ kind: 'updates', updates: frame.updates });
        else if (frame.type === 'acked') notify({ kind: 'read' });
        else if (frame.type === 'status') {
          // A completion may carry its final updates inline: they come before the status they end with.
          if (frame.updates) notify({ kind: 'updates', updates: frame.updates });
          notify({ kind: 'status', frame });
        }
      },
      dropped: () => notify({ kind: 'dropped' }),
    });
  } catch (error) {
    if (!(error instanceof PushUnavailableError)) throw error;
    yield* source.pollUpdates(commandId, after, opts.signal);
    return;
  }
  // The command as the subscription was armed: nothing newer than `after` stored, no read is needed.
  const { snapshot } = subscription;
  let status: StatusFrame['status'] = snapshot?.status ?? 'queued';
  let acked = snapshot?.acked ?? -1;
  let completion: StatusFrame | undefined = snapshot?.status === 'complete' ? snapshot : undefined;
  let needRead = !snapshot || acked > after;
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => wake?.();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (needRead) {
        needRead = false;
        // Pages until caught up with what is stored: before the subscription, or past a gap.
        for (;;) {
          const page = await source.getUpdates(commandId, after, { signal: opts.signal });
          for (const entry of page.updates) {
            if (entry[1] !== after + 1) continue;
            yield entry;
            after = entry[1];
          }
          acked = Math.max(acked, page.acked);
          if (STATUS_ORDER[page.status] > STATUS_ORDER[status]) status = page.status;
          if (page.next === undefined || page.updates.length === 0) break;
        }
      }
      if (status === 'complete' && after >= acked) {
        if (completion) opts.onComplete?.(completion);
        return;
      }
      const event = events.shift();
      if (!event) {
        if (acked > after && !graceTimer)
          graceTimer = setTimeout(() => notify({ kind: 'read' }), ACK_GRACE_MS);
        opts.signal?.throwIfAborted();
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        opts.signal?.throwIfAborted();
        continue;
      }
      if (event.kind === 'dropped') {
        yield* source.pollUpdates(commandId, after, opts.signal);
        return;
      }
      if (event.kind === 'read') {
        clearTimeout(graceTimer);
        graceTimer = undefined;
        needRead = acked > after || status !== 'complete';
        continue;
      }
      if (event.kind === 'status') {
        const { frame } = event;
        acked = Math.max(acked, frame.acked);
        if (STATUS_ORDER[frame.status] >= STATUS_ORDER[status]) status = frame.status;
        if (frame.status === 'complete') {
          completion = frame;
          // The completion's updates came with it or just before it when they were small; else they are read now.
          if (acked > after && events.every((next) => next.kind !== 'updates')) needRead = true;
        }
        continue;
      }
      for (const entry of event.updates) {
        if (entry[1] <= after) continue;
        if (entry[1] > after + 1) {
          needRead = true;
          break;
        }
        yield entry;
        after = entry[1];
        acked = Math.max(acked, after);
      }
      if (after >= acked) {
        clearTimeout(graceTimer);
        graceTimer = undefined;
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    clearTimeout(graceTimer);
    subscription.close();
  }
}
