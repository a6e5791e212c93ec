import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import type { HttpAuthorizerDef, HttpRouteDef } from './config.ts';
import { LOCAL_ACCOUNT_ID } from './config.ts';
import { countFor } from './handlers.ts';
import type { FunctionRunner } from './handlers.ts';

/**
 * API Gateway HTTP API (payload 2.0) on 127.0.0.1: matches serverless.yml's `httpApi` routes, runs the request
 * authorizer, builds the v2 event, invokes the function in-process and answers as API Gateway would.
 */

/** API Gateway's payload limit. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

const TEXT_TYPES = [/^text\//, /json/, /xml/, /javascript/, /^application\/x-www-form-urlencoded/, /yaml/];

type AuthorizerContextValue = Record<string, unknown>;

export interface GatewayOptions {
  routes: HttpRouteDef[];
  authorizers: Record<string, HttpAuthorizerDef>;
  runner: FunctionRunner;
  /** @default 0 (a free port) */
  port: number;
  log: (line: string) => void;
}

export interface Gateway {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface Segment {
  kind: 'static' | 'param' | 'greedy';
  text: string;
}

interface CompiledRoute {
  def: HttpRouteDef;
  segments: Segment[];
}

function compile(def: HttpRouteDef): CompiledRoute {
  if (def.path === '$default') return { def, segments: [] };
  const segments = def.path
    .split('/')
    .filter((part) => part !== '')
    .map((part): Segment => {
      const param = /^\{(.+?)(\+)?\}$/.exec(part);
      if (!param) return { kind: 'static', text: part };
      return { kind: param[2] ? 'greedy' : 'param', text: param[1] as string };
    });
  return { def, segments };
}

function matchPath(route: CompiledRoute, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const segment = route.segments[i] as Segment;
    if (segment.kind === 'greedy') {
      if (i >= parts.length) return undefined;
      params[segment.text] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.kind === 'static' && segment.text !== part) return undefined;
    if (segment.kind === 'param') params[segment.text] = decodeURIComponent(part);
  }
  return route.segments.length === parts.length ? params : undefined;
}

/** API Gateway prefers static segments over {param} over {proxy+}, and a method over ANY. Higher wins. */
function specificity(route: CompiledRoute): number[] {
  const weight = { static: 3, param: 2, greedy: 1 } as const;
  return [...route.segments.map((segment) => weight[segment.kind]), route.def.method === 'ANY' ? 0 : 1];
}

function moreSpecific(a: CompiledRoute, b: CompiledRoute): boolean {
  const [x, y] = [specificity(a), specificity(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  }
  return false;
}

function findRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: CompiledRoute; params: Record<string, string> } | undefined {
  const parts = path.split('/').filter((part) => part !== '');
  let best: { route: CompiledRoute; params: Record<string, string> } | undefined;
  for (const route of routes) {
    if (route.def.path === '$default') continue;
    if (route.def.method !== 'ANY' && route.def.method !== method) continue;
    let params: Record<string, string> | undefined;
    try {
      params = matchPath(route, parts);
    } catch (error) {
      // A malformed %-escape cannot match any route.
      if (error instanceof URIError) return undefined;
      throw error;
    }
    if (params && (!best || moreSpecific(route, best.route))) best = { route, params };
  }
  const fallback = routes.find((route) => route.def.path === '$default');
  return best ?? (fallback ? { route: fallback, params: {} } : undefined);
}

function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

function sendMessage(res: ServerResponse, status: number, message: string, requestId: string): void {
  send(res, status, JSON.stringify({ message }), { 'apigw-requestid': requestId });
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_REQUEST_BYTES) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Everything of the v2 event except the authorizer context, which the authorizer decides. */
function buildEvent(
  req: IncomingMessage,
  body: Buffer,
  route: CompiledRoute,
  params: Record<string, string>,
  requestId: string,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const rawPath = url.pathname;
  const rawQueryString = url.search.startsWith('?') ? url.search.slice(1) : '';
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] as string).toLowerCase();
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  // Payload 2.0 moves cookies out of the headers into their own list.
  const cookies = headers.cookie ? headers.cookie.split(/;\s*/).filter((cookie) => cookie !== '') : undefined;
  delete headers.cookie;
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams)
    query[key] = query[key] === undefined ? value : `${query[key]},${value}`;
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  const binary =
    headers['content-encoding'] !== undefined || !TEXT_TYPES.some((type) => type.test(contentType));
  const now = new Date();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: route.def.routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] as string,
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: route.def.routeKey,
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (Object.keys(params).length > 0) event.pathParameters = params;
  if (body.length > 0) {
    event.body = binary ? body.toString('base64') : body.toString('utf8');
    event.isBase64Encoded = binary;
  }
  return event;
}

interface CachedDecision {
  authorized: boolean;
  context: AuthorizerContextValue;
  expiresAt: number;
}

class Authorizers {
  private readonly cache = new Map<string, CachedDecision>();

  constructor(
    private readonly defs: Record<string, HttpAuthorizerDef>,
    private readonly runner: FunctionRunner,
  ) {}

  /** The identity values, or undefined when one is missing (API Gateway answers 401 without calling the function). */
  identity(def: HttpAuthorizerDef, event: APIGatewayProxyEventV2): string[] | undefined {
    const values: string[] = [];
    for (const source of def.identitySource) {
      const header = /^\$request\.header\.(.+)$/i.exec(source);
      const query = /^\$request\.querystring\.(.+)$/i.exec(source);
      const value = header
        ? event.headers[(header[1] as string).toLowerCase()]
        : query
          ? event.queryStringParameters?.[query[1] as string]
          : undefined;
      if (value === undefined || value === '') return undefined;
      values.push(value);
    }
    return values;
  }

  /** Runs (or recalls) the authorizer; a throw propagates (the gateway answers 500). */
  async decide(name: string, event: APIGatewayProxyEventV2, identity: string[]): Promise<CachedDecision> {
    const def = this.defs[name] as HttpAuthorizerDef;
    const key = `${name}\u0000${identity.join('\u0000')}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached;
    const request: APIGatewayRequestAuthorizerEventV2 = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:${LOCAL_ACCOUNT_ID}:local/$default/${event.routeKey.replace(' ', '')}`,
      identitySource: identity,
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      headers: event.headers,
      requestContext: event.requestContext,
      cookies: event.cookies ?? [],
      ...(event.queryStringParameters ? { queryStringParameters: event.queryStringParameters } : {}),
      ...(event.pathParameters ? { pathParameters: event.pathParameters } : {}),
    };
    const result = (await this.runner.invoke(def.functionName, request)) as
      Record<string, unknown> | undefined;
    const decision = def.enableSimpleResponses ? simpleDecision(result) : policyDecision(result);
    const ttl = def.resultTtlInSeconds * 1000;
    if (ttl > 0) this.cache.set(key, { ...decision, expiresAt: Date.now() + ttl });
    return { ...decision, expiresAt: 0 };
  }
}

class MalformedAuthorizerResponse extends Error {}

function simpleDecision(result: Record<string, unknown> | undefined): Omit<CachedDecision, 'expiresAt'> {
  if (typeof result?.isAuthorized !== 'boolean')
    throw new MalformedAuthorizerResponse('authorizer response has no boolean isAuthorized');
  return { authorized: result.isAuthorized, context: (result.context ?? {}) as AuthorizerContextValue };
}

/** IAM policy responses: authorized when a statement allows execute-api:Invoke and none denies it. */
function policyDecision(result: Record<string, unknown> | undefined): Omit<CachedDecision, 'expiresAt'> {
  const statements = (result?.policyDocument as { Statement?: { Effect?: string }[] } | undefined)?.Statement;
  if (!Array.isArray(statements))
    throw new MalformedAuthorizerResponse('authorizer response has no policyDocument');
  const allowed =
    statements.some((statement) => statement.Effect === 'Allow') &&
    !statements.some((statement) => statement.Effect === 'Deny');
  return { authorized: allowed, context: (result?.context ?? {}) as AuthorizerContextValue };
}

interface StructuredResult {
  statusCode: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
}

function isStructured(value: unknown): value is StructuredResult {
  return typeof value === 'object' && value !== null && 'statusCode' in value;
}

function sendResult(res: ServerResponse, result: unknown, requestId: string): void {
  if (!isStructured(result)) {
    // Payload 2.0: a return without statusCode is the JSON body of a 200.
    send(res, 200, JSON.stringify(result ?? null), { 'apigw-requestid': requestId });
    return;
  }
  const status = Number(result.statusCode);
  if (!Number.isInteger(status) || status < 100 || status > 599)
    throw new TypeError(`bad statusCode ${status}`);
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [name, value] of Object.entries(result.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body =
    result.body === undefined || result.body === null
      ? Buffer.alloc(0)
      : Buffer.from(String(result.body), result.isBase64Encoded ? 'base64' : 'utf8');
  if (headers['content-type'] === undefined && body.length > 0) headers['content-type'] = 'application/json';
  res.writeHead(status, headers);
  res.end(body);
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const routes = opts.routes.map(compile);
  const authorizers = new Authorizers(opts.authorizers, opts.runner);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const method = (req.method ?? 'GET').toUpperCase();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const found = findRoute(routes, method, path);
    if (!found) {
      req.resume();
      sendMessage(res, 404, 'Not Found', requestId);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
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
    countFor(route.def.functionName).httpRequests++;
    try {
      sendResult(res, await opts.runner.invoke(route.def.functionName, event), requestId);
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
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolveListen());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      return new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}
