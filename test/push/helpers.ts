// A raw WebSocket client of the push API for tests (the `ws` package, as the TS client uses in Node 20), and a cuttable TCP proxy.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { decodeFrame } from '../../shared/push/wire.ts';
import type { PushFrame } from '../../shared/push/wire.ts';
import { waitFor } from '../support/wait.ts';

interface RawWebSocket {
  readonly readyState: number;
  readonly protocol: string;
  send(data: string): void;
  close(): void;
  terminate(): void;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'unexpected-response', listener: (req: unknown, res: { statusCode: number }) => void): this;
}
type RawConstructor = new (url: string, protocols: string[]) => RawWebSocket;

export interface RawPushClient {
  socket: RawWebSocket;
  frames: PushFrame[];
  send(message: unknown): void;
  /** Waits for a frame matching `match` (seen before or after the call). */
  frame<T extends PushFrame>(what: string, match: (frame: PushFrame) => frame is T): Promise<T>;
  close(): void;
}

/** Opens a socket offering `protocols`; resolves once open, or rejects with the HTTP status of a refusal. */
export async function openRaw(url: string, protocols: string[]): Promise<RawPushClient> {
  const { WebSocket } = (await import('ws')) as unknown as { WebSocket: RawConstructor };
  const socket = new WebSocket(url, protocols);
  const frames: PushFrame[] = [];
  socket.on('message', (data) => {
    const frame = decodeFrame(String(data));
    if (frame) frames.push(frame);
  });
  await new Promise<void>((resolve, reject) => {
    socket.on('open', () => resolve());
    socket.on('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    socket.on('error', (error) => reject(error));
  });
  return {
    socket,
    frames,
    send: (message) => socket.send(JSON.stringify(message)),
    async frame(what, match) {
      let found;
      await waitFor(what, () => (found = frames.find(match)) !== undefined, 10_000, 5);
      return found!;
    },
    close: () => socket.close(),
  };
}

/** A TCP proxy to `target` whose connections a test cuts, as a network fault would (no close frame). */
export async function startCuttableProxy(target: { host: string; port: number }): Promise<{
  port: number;
  cut(): number;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      const count = sockets.size;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return count;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
