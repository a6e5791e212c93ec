// The part of `ws` the local WebSocket API adds to worker/engines/ws.d.ts's: upgrades on a shared server, subprotocols, text frames.
declare module 'ws' {
  import type { IncomingMessage } from 'node:http';
  import type { Duplex } from 'node:stream';

  interface ServerOptions {
    noServer?: boolean;
    handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  }

  interface WebSocketServer {
    handleUpgrade(
      request: IncomingMessage,
      socket: Duplex,
      head: Buffer,
      callback: (socket: WebSocket, request: IncomingMessage) => void,
    ): void;
  }

  interface WebSocket {
    send(data: string): void;
  }
}
