// Owns the console's push socket: one WebSocket per page, topics shared by the pages, frames that wake their polls.
import { useEffect, useState } from 'preact/hooks';
import { topicPk } from '../../shared/push/keys.ts';
import type { PushTopic } from '../../shared/push/wire.ts';
import { currentToken } from './token.ts';

/**
 * Push-first, polling as the fallback. The page opens one WebSocket to the push API (its URL in index.html's
 * `bbs-push-url` meta tag, which functions/console.ts writes; none: the page only polls). The token is offered
 * as the subprotocol `bbs.token.<token>` beside `bbs.v1` (a browser cannot set headers on a WebSocket, and a
 * URL would carry it to logs). A frame for a topic wakes the pages following it, which then read the API at
 * once: the frame says *when*, the HTTP read says *what*, so a frame lost, repeated or out of order costs nothing.
 * While the socket is open the pages poll only every PUSHED_POLL_MS as a safety net; when it drops they go back
 * to the 50 → 500 ms rhythm, and the socket is tried again after RETRY_MS.
 */

/** The slow safety-net poll while push is connected. @default 5000 ms */
export const PUSHED_POLL_MS = 5_000;
/** After a socket closes or fails to open, poll this long before trying again. @default 10000 ms */
const RETRY_MS = 10_000;

interface Frame {
  type: string;
  commandId?: string;
  worker?: string;
  topic?: PushTopic;
}

class ConsolePush {
  private socket: WebSocket | undefined;
  private readonly topics = new Map<string, { topic: PushTopic; targets: Set<EventTarget> }>();
  private readonly watchers = new Set<(connected: boolean) => void>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  connected = false;

  constructor(private readonly url: string) {}

  follow(topic: PushTopic, target: EventTarget): () => void {
    const key = topicPk(topic);
    let entry = this.topics.get(key);
    if (!entry) {
      entry = { topic, targets: new Set() };
      this.topics.set(key, entry);
      this.send({ action: 'subscribe', ...topic });
    }
    entry.targets.add(target);
    this.open();
    return () => {
      entry.targets.delete(target);
      if (entry.targets.size === 0) {
        this.topics.delete(key);
        this.send({ action: 'unsubscribe', ...topic });
      }
    };
  }

  watch(watcher: (connected: boolean) => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  private send(message: object): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    for (const watcher of this.watchers) watcher(connected);
  }

  private open(): void {
    const token = currentToken();
    if (this.socket || this.retryTimer || token === undefined) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.url, ['bbs.v1', `bbs.token.${token}`]);
    } catch {
      this.retryLater();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      for (const { topic } of this.topics.values()) this.send({ action: 'subscribe', ...topic });
      this.setConnected(true);
    };
    socket.onmessage = (event) => this.deliver(String(event.data));
    socket.onclose = () => {
      this.socket = undefined;
      this.setConnected(false);
      this.retryLater();
    };
  }

  private retryLater(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.topics.size > 0) this.open();
    }, RETRY_MS);
  }

  private deliver(text: string): void {
    let frame: Frame;
    try {
      frame = JSON.parse(text) as Frame;
    } catch {
      return;
    }
    const keys =
      frame.type === 'subscribed' && frame.topic
        ? [topicPk(frame.topic)]
        : frame.commandId !== undefined
          ? [
              topicPk({ commandId: frame.commandId }),
              ...(frame.worker !== undefined ? [topicPk({ worker: frame.worker })] : []),
              topicPk({ all: true }),
            ]
          : [];
    for (const key of keys)
      for (const target of this.topics.get(key)?.targets ?? []) target.dispatchEvent(new Event('wake'));
  }
}

let shared: ConsolePush | undefined | null;

function pushOfPage(): ConsolePush | undefined {
  if (shared === undefined) {
    const url = document.querySelector<HTMLMetaElement>('meta[name="bbs-push-url"]')?.content;
    shared = url ? new ConsolePush(url) : null;
  }
  return shared ?? undefined;
}

export interface Pushed {
  /** Dispatches `wake` when a frame of the topic arrives. */
  wake: EventTarget;
  /** Read at each wait: true while the socket is open. */
  connected: () => boolean;
}

/** Follows `topics` (none: no push) for as long as the component is shown. */
export function usePush(topics: PushTopic[]): Pushed {
  const [pushed] = useState<Pushed>(() => ({
    wake: new EventTarget(),
    connected: () => pushOfPage()?.connected ?? false,
  }));
  const key = topics.map(topicPk).join('|');
  useEffect(() => {
    const push = pushOfPage();
    if (!push) return;
    const stops = topics.map((topic) => push.follow(topic, pushed.wake));
    // A drop wakes the followers, which then poll at the quick rhythm again.
    const unwatch = push.watch(() => pushed.wake.dispatchEvent(new Event('wake')));
    return () => {
      for (const stop of stops) stop();
      unwatch();
    };
  }, [key]);
  return pushed;
}
