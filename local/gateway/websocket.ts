// API Gateway's WebSocket API on the local gateway: upgrades, route events for the push function, and the @connections endpoint.
import * as LIMITS from '../../shared/limits.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { FunctionRunner } from '../handlers.ts';
import { LOCAL_ACCOUNT_ID } from '../serverless/intrinsics.ts';
import { isMap } from '../serverless/yaml.ts';
import type { Resolved } from '../serverless/yaml.ts';
import { GatewayBodyTooLargeError } from '../errors.ts';
import { readBody, requestHeaders, send } from './events.ts';

/**
 * serverless.yml's `websocket` events, served as API Gateway serves them:
 * - an upgrade on WEBSOCKET_PATH runs the `$connect` route (its headers, Sec-WebSocket-Protocol included); a 2xx
 *   answer opens the socket with the subprotocol the answer's headers name, anything else answers that status;
 * - each text message goes to the route its `action` names (the route selection expression
 *   `$request.body.action`), else to `$default`; a route with a route response sends the answer's body back;
 * - a binary frame closes the socket with 1003 and a message over 128 KB with 1009, as API Gateway refuses both;
 * - the close runs `$disconnect`;
 * - `POST /@connections/{id}` sends its body as a text frame (410 GoneException when the connection is not
 *   open), `DELETE` closes it, `GET` describes it: the PostToConnection endpoint of the management API.
 * Not emulated: the 10-minute idle timeout and the 2-hour connection limit (the client handles both, as a drop).
 */

/** The path clients connect to: the local push URL is `ws://127.0.0.1:<port>/v1/push`. */
export const WEBSOCKET_PATH = '/v1/push';
const CONNECTIONS_PREFIX = '/@connections/';
/** ws's readyState of an open socket. */
const OPEN = 1;

export interface WebSocketRouteDef {
  functionName: string;
  /** `$connect`, `$disconnect`, `$default` or an action's name. */
  route: string;
  /** The route answers on the socket (`routeResponseSelectionExpression`). */
  routeResponse: boolean;
}

/** The `websocket` events of serverless.yml's functions. */
export function websocketRoutes(functions: Resolved | undefined): WebSocketRouteDef[] {
  const routes: WebSocketRouteDef[] = [];
  if (!isMap(functions)) return routes;
  for (const [functionName, fn] of Object.entries(functions)) {
    const events = isMap(fn) && Array.isArray(fn.events) ? fn.events : [];
    for (const event of events) {
      if (!isMap(event) || event.websocket === undefined) continue;
      const spec = event.websocket;
      const route = typeof spec === 'string' ? spec : isMap(spec) ? String(spec.route) : '';
      const routeResponse = isMap(spec) && spec.routeResponseSelectionExpression !== undefined;
      routes.push({ functionName, route, routeResponse });
    }
  }
  return routes;
}

interface RouteResult {
  statusCode?: number;
  headers?: Record<string, string>;
  body?: string;
}

interface Connection {
  socket: WebSocket;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
}

export interface WebSocketGatewayOptions {
  routes: WebSocketRouteDef[];
  runner: FunctionRunner;
  /** `127.0.0.1:<port>`, the requestContext's domainName. */
  domainName: () => string;
  stage: string;
  log: (line: string) => void;
}

export interface WebSocketGateway {
  /** The server's `upgrade` listener. */
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Serves `/@connections/{id}`; answers false for any other path. */
  onManagement(req: IncomingMessage, res: ServerResponse): boolean;
  /** Open connections (for tests that cut one). */
  connectionIds(): string[];
  /** Drops a connection as a network failure would: no close frame (the client sees 1006). */
  cut(connectionId: string): boolean;
  close(): Promise<void>;
}

/** A connection id as API Gateway makes them: 16 characters of base64 (with its `=`, `/` and `+`). */
function newConnectionId(): string {
  return randomBytes(10).toString('base64').slice(0, 15) + '=';
}

export function startWebSocketGateway(opts: WebSocketGatewayOptions): WebSocketGateway {
  const byRoute = new Map(opts.routes.map((route) => [route.route, route]));
  const connections = new Map<string, Connection>();
  /** The subprotocol $connect's answer chose, for ws's handleProtocols. */
  const chosen = new WeakMap<IncomingMessage, string>();
  const server = new WebSocketServer({
    noServer: true,
    maxPayload: LIMITS.pushFrameBytes,
    handleProtocols: (_offered, req) => chosen.get(req) ?? false,
  });

  function requestContext(
    route: string,
    eventType: string,
    connectionId: string,
    connectedAt: number,
    sourceIp: string,
  ) {
    const now = Date.now();
    return {
      routeKey: route,
      eventType,
      messageDirection: 'IN',
      stage: opts.stage,
      connectedAt,
      requestTimeEpoch: now,
      requestTime: new Date(now).toUTCString(),
      requestId: randomUUID(),
      extendedRequestId: randomUUID(),
      domainName: opts.domainName(),
      connectionId,
      apiId: 'local',
      accountId: LOCAL_ACCOUNT_ID,
      identity: { sourceIp },
    };
  }

  async function invoke(route: WebSocketRouteDef, event: unknown): Promise<RouteResult> {
    opts.runner.countFor(route.functionName).httpRequests++;
    const result = await opts.runner.invoke(route.functionName, event);
    return isMap(result as Resolved) ? (result as RouteResult) : {};
  }

  function refuse(socket: Duplex, status: number, message: string): void {
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${message}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const connectRoute = byRoute.get('$connect');
    if (path !== WEBSOCKET_PATH || !byRoute.has('$default')) {
      refuse(socket, 404, 'Not Found');
      return;
    }
    const connectionId = newConnectionId();
    const connectedAt = Date.now();
    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
    if (connectRoute) {
      let result: RouteResult;
      try {
        result = await invoke(connectRoute, {
          headers: requestHeaders(req, false),
          isBase64Encoded: false,
          requestContext: requestContext('$connect', 'CONNECT', connectionId, connectedAt, sourceIp),
        });
      } catch (error) {
        // Never the event: its headers carry the token.
        opts.log(`function ${connectRoute.functionName} failed on $connect: ${(error as Error).message}`);
        refuse(socket, 500, 'Internal Server Error');
        return;
      }
      const status = result.statusCode ?? 200;
      if (status < 200 || status > 299) {
        refuse(socket, status, status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Refused');
        return;
      }
      const protocol = Object.entries(result.headers ?? {}).find(
        ([name]) => name.toLowerCase() === 'sec-websocket-protocol',
      )?.[1];
      if (protocol) chosen.set(req, protocol);
    }
    server.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = { socket: ws, connectedAt, lastActiveAt: connectedAt, sourceIp };
      connections.set(connectionId, connection);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        connection.lastActiveAt = Date.now();
        if (isBinary) {
          ws.close(1003, 'Binary frames are not supported');
          return;
        }
        void onMessage(connectionId, connection, String(data));
      });
      ws.on('close', (code: number, reason: Buffer) => {
        connections.delete(connectionId);
        const route = byRoute.get('$disconnect');
        if (!route) return;
        invoke(route, {
          isBase64Encoded: false,
          requestContext: {
            ...requestContext('$disconnect', 'DISCONNECT', connectionId, connectedAt, sourceIp),
            disconnectStatusCode: code,
            disconnectReason: reason.toString('utf8'),
          },
        }).catch((error: unknown) =>
          opts.log(`$disconnect of ${connectionId} failed: ${(error as Error).message}`),
        );
      });
      ws.on('error', (error: Error) => opts.log(`websocket ${connectionId}: ${error.message}`));
    });
  }

  async function onMessage(connectionId: string, connection: Connection, body: string): Promise<void> {
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown }).action;
    } catch {
      action = undefined;
    }
    const route = (typeof action === 'string' ? byRoute.get(action) : undefined) ?? byRoute.get('$default');
    if (!route) return;
    try {
      const result = await invoke(route, {
        body,
        isBase64Encoded: false,
        requestContext: {
          ...requestContext(
            route.route,
            'MESSAGE',
            connectionId,
            connection.connectedAt,
            connection.sourceIp,
          ),
          messageId: randomBytes(8).toString('base64'),
        },
      });
      if (route.routeResponse && typeof result.body === 'string' && connection.socket.readyState === OPEN)
        connection.socket.send(result.body);
    } catch (error) {
      opts.log(`function ${route.functionName} failed on ${route.route}: ${(error as Error).stack ?? error}`);
      if (connection.socket.readyState === OPEN)
        connection.socket.send(JSON.stringify({ message: 'Internal server error', connectionId }));
    }
  }

  async function manage(req: IncomingMessage, res: ServerResponse, connectionId: string): Promise<void> {
    const connection = connections.get(connectionId);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBody(req, LIMITS.pushFrameBytes);
    } catch (error) {
      if (!(error instanceof GatewayBodyTooLargeError)) throw error;
      send(res, 413, JSON.stringify({ message: 'Message too long' }), {
        'x-amzn-errortype': 'PayloadTooLargeException',
      });
      return;
    }
    if (!connection || connection.socket.readyState !== OPEN) {
      send(res, 410, JSON.stringify({ message: 'Gone' }), { 'x-amzn-errortype': 'GoneException' });
      return;
    }
    if (method === 'POST') {
      connection.socket.send(body.toString('utf8'));
      send(res, 200, '');
      return;
    }
    if (method === 'DELETE') {
      connection.socket.close(1000, 'Goodbye');
      res.writeHead(204).end();
      return;
    }
    send(
      res,
      200,
      JSON.stringify({
        connectedAt: new Date(connection.connectedAt).toISOString(),
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        identity: { sourceIp: connection.sourceIp },
      }),
    );
  }

  return {
    onUpgrade(req, socket, head) {
      upgrade(req, socket, head).catch((error: unknown) => {
        opts.log(`websocket upgrade failed: ${(error as Error).message}`);
        socket.destroy();
      });
    },
    onManagement(req, res) {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!path.startsWith(CONNECTIONS_PREFIX)) return false;
      const connectionId = decodeURIComponent(path.slice(CONNECTIONS_PREFIX.length));
      manage(req, res, connectionId).catch((error: unknown) => {
        opts.log(`@connections failed: ${(error as Error).message}`);
        if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
        else res.end();
      });
      return true;
    },
    connectionIds: () => [...connections.keys()],
    cut(connectionId) {
      const connection = connections.get(connectionId);
      if (!connection) return false;
      connection.socket.terminate();
      return true;
    },
    close() {
      for (const { socket } of connections.values()) socket.terminate();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}
