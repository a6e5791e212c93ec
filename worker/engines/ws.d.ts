// The part of `ws` (8.x, which ships no types) the msgpack master side uses: a server on a port, and its sockets.
declare module 'ws' {
  import type { IncomingMessage } from 'node:http';
  import { EventEmitter } from 'node:events';

  export class WebSocket extends EventEmitter {
    readonly readyState: number;
    send(data: Buffer, options: { binary: boolean }, callback?: (error?: Error) => void): void;
    close(code?: number, reason?: string): void;
    terminate(): void;
    on(event: 'message', listener: (data: Buffer, isBinary: boolean) => void): this;
    on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  export interface VerifyClientInfo {
    origin: string;
    secure: boolean;
    req: IncomingMessage;
  }

  export interface ServerOptions {
    host?: string;
    port?: number;
    maxPayload?: number;
    verifyClient?: (info: VerifyClientInfo) => boolean;
  }

  export class WebSocketServer extends EventEmitter {
    constructor(options: ServerOptions, callback?: () => void);
    address(): { port: number; address: string; family: string };
    close(callback?: (error?: Error) => void): void;
    on(event: 'connection', listener: (socket: WebSocket, request: IncomingMessage) => void): this;
    on(event: 'listening', listener: () => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }
}
