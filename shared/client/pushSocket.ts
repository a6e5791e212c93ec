// Owns the client's one WebSocket to the push API: opening it with the token, subscriptions by command, frames to listeners, drops.
import { decodeFrame } from '../push/wire.ts';
import type { PushFrame, PushTopic, StatusFrame, SubscribedFrame } from '../push/wire.ts';
import { PushUnavailableError } from './errors.ts';

/*
 * One socket per CommandsClient, opened on the first follow and shared by every command it follows. The token is
 * offered as the subprotocol `bbs.token.<token>` beside `bbs.v1` (a browser cannot set headers on a WebSocket, and
 * a URL's query string ends in logs); the server selects `bbs.v1` and never echoes the token.
 *
 * In a browser (and Node 22) it uses globalThis.WebSocket; in Node 20 the `ws` package, loaded only then.
 * While nothing is subscribed, the socket does not keep Node's event loop alive (a CLI exits at once).
 */

/** The browser WebSocket API, the part used here (`ws` has the same). */
interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

const OPEN = 1;

export const PUSH_SOCKET_DEFAULTS = {
  /** Give up opening (or subscribing) after this long, and poll instead. @default 3000 ms */
  connectTimeoutMs: 3_000,
  /** After a failed open, poll for this long before trying the socket again. @default 10000 ms */
  retryAfterMs: 10_000,
  /** A ping this often keeps an idle socket open (API Gateway closes one after 10 minutes). @default 300000 ms */
  pingEveryMs: 300_000,
} as const;

export interface PushSocketOptions {
  /** `wss://…/{stage}` on AWS, `ws://127.0.0.1:<port>/v1/push` locally. */
  url: string;
  token: string;
  /** @default PUSH_SOCKET_DEFAULTS.connectTimeoutMs */
  connectTimeoutMs?: number;
  /** @default PUSH_SOCKET_DEFAULTS.retryAfterMs */
  retryAfterMs?: number;
}

/** What a follower hears: each frame for its command, in the order the socket delivered them, then maybe a drop. */
export interface CommandListener {
  frame(frame: PushFrame): void;
  /** The socket closed: no more frames will come; the follower polls from where it is. */
  dropped(): void;
}

export interface Subscription {
  /** Unsubscribes (when the socket is still open) and stops the listener. */
  close(): void;
}

async function webSocketConstructor(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  // Node 20 has no WebSocket without a flag. The name is a variable so that a browser bundle does not take `ws` in.
  const name = 'ws';
  const module = (await import(name)) as { WebSocket: WebSocketConstructor };
  return module.WebSocket;
}

/** ws's socket, reached to unref it while idle (no API for that; a browser has no event loop to hold). */
function rawSocketOf(socket: WebSocketLike): { ref?: () => void; unref?: () => void } | undefined {
  return (socket as unknown as { _socket?: { ref?: () => void; unref?: () => void } })._socket;
}

export class PushSocket {
  private readonly opts: Required<PushSocketOptions>;
  private socket: Promise<WebSocketLike> | undefined;
  private failedAt = -Infinity;
  private readonly listeners = new Map<string, Set<CommandListener>>();
  /** Waiters for a `subscribed` frame, by command id. */
  private readonly armed = new Map<string, Array<(frame: SubscribedFrame) => void>>();
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(opts: PushSocketOptions) {
    this.opts = {
      connectTimeoutMs: PUSH_SOCKET_DEFAULTS.connectTimeoutMs,
      retryAfterMs: PUSH_SOCKET_DEFAULTS.retryAfterMs,
      ...opts,
    };
  }

  /**
   * Follows `commandId`: resolves once the server confirmed the subscription (frames from then on reach
   * `listener`), or rejects with PushUnavailableError when the socket cannot open or confirm in time.
   */
  async subscribe(
    commandId: string,
    listener: CommandListener,
  ): Promise<Subscription & { snapshot?: StatusFrame }> {
    const socket = await this.open();
    let listeners = this.listeners.get(commandId);
    const first = listeners === undefined;
    if (!listeners) this.listeners.set(commandId, (listeners = new Set()));
    listeners.add(listener);
    this.holdLoop();
    const subscription: Subscription = { close: () => this.release(commandId, listener) };
    if (!first) return subscription;
    try {
      const armed = await new Promise<SubscribedFrame>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new PushUnavailableError(`no answer to subscribe within ${this.opts.connectTimeoutMs} ms`));
        }, this.opts.connectTimeoutMs);
        const waiters = this.armed.get(commandId) ?? [];
        waiters.push((frame) => {
          clearTimeout(timer);
          resolve(frame);
        });
        this.armed.set(commandId, waiters);
        socket.send(JSON.stringify({ action: 'subscribe', commandId }));
      });
      return armed.snapshot ? { ...subscription, snapshot: armed.snapshot } : subscription;
    } catch (error) {
      subscription.close();
      throw error;
    }
  }

  /** Closes the socket; followers fall back to polling. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    void socket?.then((open) => open.close(1000, 'client closed')).catch(() => undefined);
  }

  private release(commandId: string, listener: CommandListener): void {
    const listeners = this.listeners.get(commandId);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.listeners.delete(commandId);
    this.armed.delete(commandId);
    void this.socket
      ?.then((socket) => {
        if (socket.readyState === OPEN) socket.send(JSON.stringify({ action: 'unsubscribe', commandId }));
      })
      .catch(() => undefined);
    this.holdLoop();
  }

  /** Keeps Node's event loop alive only while a command is followed. */
  private holdLoop(): void {
    void this.socket
      ?.then((socket) => {
        const raw = rawSocketOf(socket);
        if (this.listeners.size > 0) raw?.ref?.();
        else raw?.unref?.();
        const pinger = this.pinger as { ref?: () => void; unref?: () => void } | undefined;
        if (this.listeners.size > 0) pinger?.ref?.();
        else pinger?.unref?.();
      })
      .catch(() => undefined);
  }

  private open(): Promise<WebSocketLike> {
    if (this.socket) return this.socket;
    if (Date.now() - this.failedAt < this.opts.retryAfterMs)
      return Promise.reject(new PushUnavailableError('the push socket failed recently: polling'));
    const opening = this.connect();
    this.socket = opening;
    opening.catch(() => {
      this.failedAt = Date.now();
      if (this.socket === opening) this.socket = undefined;
    });
    return opening;
  }

  private async connect(): Promise<WebSocketLike> {
    const WebSocketImpl = await webSocketConstructor();
    const socket = new WebSocketImpl(this.opts.url, ['bbs.v1', `bbs.token.${this.opts.token}`]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.close();
        reject(
          new PushUnavailableError(`the push socket did not open within ${this.opts.connectTimeoutMs} ms`),
        );
      }, this.opts.connectTimeoutMs);
      socket.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.onerror = () => undefined;
      socket.onclose = (event) => {
        clearTimeout(timer);
        reject(new PushUnavailableError(`the push socket closed while opening (${event.code})`));
      };
    });
    socket.onmessage = (event) => this.dispatch(String(event.data));
    socket.onclose = () => this.dropped(socket);
    this.pinger = setInterval(() => {
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ action: 'ping' }));
    }, PUSH_SOCKET_DEFAULTS.pingEveryMs);
    return socket;
  }

  private dispatch(text: string): void {
    const frame = decodeFrame(text);
    if (!frame) return;
    if (frame.type === 'subscribed') {
      const id = commandOf(frame.topic);
      for (const waiter of (id && this.armed.get(id)) || []) waiter(frame);
      if (id) this.armed.delete(id);
      return;
    }
    if (!('commandId' in frame)) return;
    for (const listener of [...(this.listeners.get(frame.commandId) ?? [])]) listener.frame(frame);
  }

  private dropped(socket: WebSocketLike): void {
    clearInterval(this.pinger);
    this.pinger = undefined;
    if (this.socket) void this.socket.then((current) => current === socket && (this.socket = undefined));
    this.failedAt = Date.now();
    const all = [...this.listeners.values()].flatMap((set) => [...set]);
    this.listeners.clear();
    this.armed.clear();
    for (const listener of all) listener.dropped();
  }
}

function commandOf(topic: PushTopic): string | undefined {
  return 'commandId' in topic ? topic.commandId : undefined;
}

/** Status order: a frame never moves a command's status back. */
export const STATUS_ORDER: Record<StatusFrame['status'], number> = { queued: 0, running: 1, complete: 2 };
