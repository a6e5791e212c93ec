// The gateway's node:http server on 127.0.0.1: reads a request, routes, authorizes, invokes, answers; and its close().
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as LIMITS from '../../shared/limits.ts';
import { GatewayBodyTooLargeError } from '../errors.ts';
import type { FunctionRunner } from '../handlers.ts';
import type { HttpAuthorizerDef, HttpRouteDef } from '../serverless/service.ts';
import { Authorizers } from './authorizers.ts';
import type { CachedDecision } from './authorizers.ts';
import { buildEvent, readBody, send, sendResult } from './events.ts';
import { compile, findRoute } from './routes.ts';
import { WEBSOCKET_PATH, startWebSocketGateway } from './websocket.ts';
import type { WebSocketGateway, WebSocketRouteDef } from './websocket.ts';

/**
 * API Gateway HTTP API (payload 2.0) on 127.0.0.1: matches serverless.yml's `httpApi` routes, runs the request
 * authorizer, builds the v2 event, invokes the function in-process and answers as API Gateway would.
 */

export interface GatewayOptions {
  routes: HttpRouteDef[];
  authorizers: Record<string, HttpAuthorizerDef>;
  runner: FunctionRunner;
  /** @default 0 (a free port) */
  port: number;
  log: (line: string) => void;
  /** serverless.yml's `websocket` routes (local/gateway/websocket.ts). @default [] (no WebSocket API) */
  websocketRoutes?: WebSocketRouteDef[];
  /** The stage, for the WebSocket events' requestContext. @default 'local' */
  stage?: string;
}

export interface Gateway {
  url: string;
  port: number;
  /** The WebSocket API's URL (`ws://127.0.0.1:<port>/v1/push`), when serverless.yml has `websocket` routes. */
  pushUrl?: string;
  /** The WebSocket API's connections, when it has one (tests cut them). */
  websocket?: WebSocketGateway;
  close(): Promise<void>;
}

function sendMessage(res: ServerResponse, status: number, message: string, requestId: string): void {
  send(res, status, JSON.stringify({ message }), { 'apigw-requestid': requestId });
}

/**
 * The size Lambda holds against its response limit: the handler's return serialized as the Node runtime
 * serializes it (JSON.stringify), so an escaped body counts its escapes (`\u0001` is 6 bytes).
 */
export function responsePayloadBytes(result: unknown): number {
  return Buffer.byteLength(JSON.stringify(result ?? null) ?? 'null');
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const routes = opts.routes.map(compile);
  const authorizers = new Authorizers(opts.authorizers, opts.runner);
  let domainName = '127.0.0.1';
  const websocket =
    opts.websocketRoutes && opts.websocketRoutes.length > 0
      ? startWebSocketGateway({
          routes: opts.websocketRoutes,
          runner: opts.runner,
          domainName: () => domainName,
          stage: opts.stage ?? 'local',
          log: opts.log,
        })
      : undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (websocket?.onManagement(req, res)) return;
    const found = findRoute(routes, method, path);
    if (!found) {
      req.resume();
      sendMessage(res, 404, 'Not Found', requestId);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, LIMITS.gatewayBodyBytes);
    } catch (error) {
      if (!(error instanceof GatewayBodyTooLargeError)) throw error;
      res.setHeader('connection', 'close');
      sendMessage(res, 413, 'Request Entity Too Large', requestId);
      return;
    }
    const { route, params } = found;
    const event = buildEvent(req, body, route, params, requestId);
    const authorizerName = route.def.authorizer;
    if (authorizerName !== undefined) {
      const def = opts.authorizers[authorizerName] as HttpAuthorizerDef;
      const identity = authorizers.identity(def, event);
      if (!identity) {
        sendMessage(res, 401, 'Unauthorized', requestId);
        return;
      }
      let decision: CachedDecision;
      try {
        decision = await authorizers.decide(authorizerName, event, identity);
      } catch (error) {
        opts.log(
          `authorizer ${def.functionName} failed on ${route.def.routeKey}: ${(error as Error).stack ?? error}`,
        );
        sendMessage(res, 500, 'Internal Server Error', requestId);
        return;
      }
      if (!decision.authorized) {
        sendMessage(res, 403, 'Forbidden', requestId);
        return;
      }
      event.requestContext = { ...event.requestContext, authorizer: { lambda: decision.context } } as never;
    }
    opts.runner.countFor(route.def.functionName).httpRequests++;
    try {
      const result = await opts.runner.invoke(route.def.functionName, event);
      const size = responsePayloadBytes(result);
      if (size > LIMITS.lambdaResponseBytes) {
        // Lambda refuses the answer (Function.ResponseSizeTooLarge), and HTTP API answers 500 for it.
        opts.log(
          `function ${route.def.functionName} on ${route.def.routeKey}: response payload ${size} bytes exceeds ` +
            `Lambda's ${LIMITS.lambdaResponseBytes} (Function.ResponseSizeTooLarge); answered 500`,
        );
        sendMessage(res, 500, 'Internal Server Error', requestId);
        return;
      }
      sendResult(res, result, requestId);
    } catch (error) {
      opts.log(
        `function ${route.def.functionName} failed on ${route.def.routeKey}: ${(error as Error).stack ?? error}`,
      );
      if (!res.headersSent) sendMessage(res, 500, 'Internal Server Error', requestId);
      else res.end();
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      opts.log(`gateway error: ${(error as Error).stack ?? error}`);
      if (!res.headersSent) send(res, 500, JSON.stringify({ message: 'Internal Server Error' }));
      else res.end();
    });
  });
  // Node closes an idle keep-alive connection after 5 s, racing a client that sends on it just then ("other side
  // closed"); API Gateway keeps them for minutes. A longer idle time spares local clients that race.
  server.keepAliveTimeout = 65_000;
  if (websocket) server.on('upgrade', websocket.onUpgrade);
  server.headersTimeout = 66_000;
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  domainName = `127.0.0.1:${port}`;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    ...(websocket ? { pushUrl: `ws://127.0.0.1:${port}${WEBSOCKET_PATH}`, websocket } : {}),
    async close() {
      await websocket?.close();
      return new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
