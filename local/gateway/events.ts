// API Gateway HTTP API payload format 2.0: the event a request becomes, and the HTTP answer a function's result becomes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { GatewayBodyTooLargeError } from '../errors.ts';
import { LOCAL_ACCOUNT_ID } from '../serverless/intrinsics.ts';
import type { CompiledRoute } from './routes.ts';

const TEXT_TYPES = [/^text\//, /json/, /xml/, /javascript/, /^application\/x-www-form-urlencoded/, /yaml/];

/**
 * A request's headers as API Gateway hands them to a function: one value each, repeats joined with commas;
 * names lower-cased (an HTTP API's payload 2.0) or as sent (a WebSocket API's $connect).
 */
export function requestHeaders(req: IncomingMessage, lowerCase: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const raw = req.rawHeaders[i] as string;
    const name = lowerCase ? raw.toLowerCase() : raw;
    const value = req.rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

/** A request's body, refused (GatewayBodyTooLargeError) past `maxBytes`, declared or sent, as API Gateway's limits are. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBytes) {
      reject(new GatewayBodyTooLargeError(`request body over ${maxBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners('data');
        req.resume();
        reject(new GatewayBodyTooLargeError(`request body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An answer with a body, JSON unless `headers` say otherwise (API Gateway's own answers are JSON). */
export function send(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

function clfTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Everything of the v2 event except the authorizer context, which the authorizer decides. */
export function buildEvent(
  req: IncomingMessage,
  body: Buffer,
  route: CompiledRoute,
  params: Record<string, string>,
  requestId: string,
): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const rawPath = url.pathname;
  const rawQueryString = url.search.startsWith('?') ? url.search.slice(1) : '';
  const headers = requestHeaders(req, true);
  // Payload 2.0 moves cookies out of the headers into their own list.
  const cookies = headers.cookie ? headers.cookie.split(/;\s*/).filter((cookie) => cookie !== '') : undefined;
  delete headers.cookie;
  // Joined in a Map, then made own properties as API Gateway's JSON event has them: an assignment to
  // query['__proto__'] would drop the parameter, which the route must see (and refuse as unknown).
  const joined = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const before = joined.get(key);
    joined.set(key, before === undefined ? value : `${before},${value}`);
  }
  const query: Record<string, string> = Object.fromEntries(joined);
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

/** Answers with what the function returned, as API Gateway reads a payload 2.0 result. */
export function sendResult(res: ServerResponse, result: unknown, requestId: string): void {
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
