/** The HTTP edge of the route functions: body decoding, the caller, dispatch, error answers, compression. */
import { once } from 'node:events';
import {
  brotliDecompressSync,
  constants as zlib,
  createBrotliCompress,
  createGzip,
  gunzipSync,
} from 'node:zlib';
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import {
  BuildbotError,
  PayloadTooLargeError,
  UnauthorizedError,
  ValidationError,
} from '../../shared/errors.ts';
import { ROLES } from '../../shared/auth/types.ts';
import { serviceUnavailableOf } from '../../shared/aws/errors.ts';
import * as LIMITS from '../../shared/limits.ts';
import { TEXT_BATCH_CONTENT_TYPE, decodeTextBatch, isTextBatch } from '../../shared/commands/textBatch.ts';
import type { AuthorizerContext, Principal } from '../../shared/auth/types.ts';
import { logger } from '../../shared/observability.ts';
import { observed } from './lambda.ts';
import type { LambdaHandler } from './lambda.ts';

/**
 * The HTTP edge every route function shares: it decodes the body (base64, gzip or br), parses JSON under
 * a size limit, resolves the caller, dispatches on the route key, maps errors to status codes, and
 * compresses large answers for clients that accept it (br, else gzip; API Gateway passes the base64 body
 * through with isBase64Encoded). Everything it hands on is plain data; decisions stay in shared/.
 */
export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<
  AuthorizerContext | { role: ''; worker: '' }
>;

export interface HttpRequest {
  principal: Principal;
  /** Which token called (AuthorizerContext.caller); '' when the authorizer did not say. */
  caller: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
  /** The body's JSON text, decompressed (what `body` was parsed from); undefined for a text batch. */
  bodyText?: string;
  /** The encoding a large answer will travel in, from Accept-Encoding; undefined: uncompressed. */
  answerEncoding?: AnswerEncoding;
}

export type AnswerEncoding = 'br' | 'gzip';

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  /** Sent as text/plain instead of JSON (log text, parts as UTF-8 bytes or strings); parts are sent joined. */
  text?: string | (string | Buffer)[];
  /** JSON already serialized (a page of stored fragments), in parts sent joined. */
  json?: Buffer | Buffer[];
  /** The answer barely compresses (random text): send it as it is rather than spend CPU on it. */
  incompressible?: boolean;
  /**
   * Sent uncompressed as base64 (isBase64Encoded; API Gateway decodes it): text whose JSON escapes would cost
   * the Lambda response more than its base64 (control characters take 6 bytes each; shared/commands/escapedBytes.ts).
   */
  base64?: boolean;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResult>;

export interface DecodedBody {
  value: unknown;
  text?: string;
}

function inflate(raw: Buffer, encoding: string, maxBodyBytes: number): Buffer {
  try {
    return encoding === 'gzip'
      ? gunzipSync(raw, { maxOutputLength: maxBodyBytes + 1 })
      : brotliDecompressSync(raw, { maxOutputLength: maxBodyBytes + 1 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      return Buffer.alloc(maxBodyBytes + 1);
    throw new ValidationError(`body says Content-Encoding: ${encoding} but is not ${encoding} data`, {
      cause: error,
    });
  }
}

/** What bodies a router takes: their size after decompression, and whether text batches too (else JSON only). */
export interface BodyLimits {
  maxBodyBytes: number;
  textBatch?: boolean;
}

export function decodeBody(event: HttpEvent, limits: BodyLimits): DecodedBody {
  const { maxBodyBytes } = limits;
  if (event.body === undefined || event.body === null || event.body === '') return { value: undefined };
  let raw: Buffer = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
  const encoding = (event.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip' || encoding === 'br') raw = inflate(raw, encoding, maxBodyBytes);
  else if (encoding !== '' && encoding !== 'identity')
    throw new ValidationError(`unsupported Content-Encoding ${encoding}; send gzip, br or nothing`);
  if (raw.length > maxBodyBytes)
    throw new PayloadTooLargeError(`body is ${raw.length} bytes; the limit is ${maxBodyBytes} bytes`, {
      details: { limit: maxBodyBytes },
    });
  if (isTextBatch(event.headers['content-type'])) {
    if (!limits.textBatch)
      throw new ValidationError(`${TEXT_BATCH_CONTENT_TYPE} is for the worker's updates; send JSON here`);
    return { value: decodeTextBatch(raw) };
  }
  const text = raw.toString('utf8');
  try {
    return { value: JSON.parse(text), text };
  } catch (error) {
    throw new ValidationError(`body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** br when the client accepts it, else gzip, else nothing (q=0 refuses an encoding). */
export function answerEncodingOf(acceptEncoding: string | undefined): AnswerEncoding | undefined {
  const accepted = new Set<string>();
  for (const entry of (acceptEncoding ?? '').toLowerCase().split(',')) {
    const [name, ...params] = entry.split(';').map((part) => part.trim());
    const refused = params.some((param) => /^q=0(\.0*)?$/.test(param));
    if (name && !refused) accepted.add(name);
  }
  if (accepted.has('br')) return 'br';
  if (accepted.has('gzip')) return 'gzip';
  return undefined;
}

/**
 * Compresses the parts as one stream, never joined: a page of 64 MiB of log costs its parts and the
 * compressed output, not a second copy. br at quality 1 keeps up with a fast process; gzip at level 1.
 */
async function compress(
  parts: (Buffer | string)[],
  bytes: number,
  encoding: AnswerEncoding,
): Promise<Buffer> {
  const stream =
    encoding === 'br'
      ? createBrotliCompress({
          params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes },
        })
      : createGzip({ level: 1 });
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = once(stream, 'end');
  for (const part of parts) if (!stream.write(part)) await once(stream, 'drain');
  stream.end();
  await ended;
  return Buffer.concat(out);
}

function partsOf(result: HttpResult): (Buffer | string)[] {
  const body = result.text ?? result.json ?? (result.body === undefined ? '' : JSON.stringify(result.body));
  return Array.isArray(body) ? body : [body];
}

function byteLengthOf(parts: (Buffer | string)[]): number {
  return parts.reduce(
    (sum, part) => sum + (typeof part === 'string' ? Buffer.byteLength(part) : part.length),
    0,
  );
}

function principalOf(event: HttpEvent): Principal {
  const context = event.requestContext.authorizer?.lambda;
  if (!context || context.role === '')
    throw new UnauthorizedError('missing or unknown bearer token; send Authorization: Bearer <token>');
  if (context.role === ROLES.worker) return { role: ROLES.worker, worker: context.worker };
  return { role: context.role } as Principal;
}

/** The calling token's identity from the authorizer's context; '' from an authorizer that predates it. */
function callerOf(event: HttpEvent): string {
  const context = event.requestContext.authorizer?.lambda;
  return context !== undefined && 'caller' in context && typeof context.caller === 'string'
    ? context.caller
    : '';
}

function contentTypeOf(result: HttpResult): string {
  return result.text !== undefined ? 'text/plain; charset=utf-8' : 'application/json';
}

/** The answer sent as it is (errors, small answers, incompressible text, clients without br or gzip). */
function respondPlain(result: HttpResult, parts = partsOf(result)): APIGatewayProxyStructuredResultV2 {
  if (result.base64)
    return {
      statusCode: result.statusCode,
      headers: { 'content-type': contentTypeOf(result), ...result.headers },
      body: Buffer.concat(
        parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)),
      ).toString('base64'),
      isBase64Encoded: true,
    };
  const body =
    parts.length === 1 && typeof parts[0] === 'string'
      ? parts[0]
      : parts.map((part) => (typeof part === 'string' ? part : part.toString('utf8'))).join('');
  return {
    statusCode: result.statusCode,
    headers: { 'content-type': contentTypeOf(result), ...result.headers },
    body,
  };
}

async function respond(
  result: HttpResult,
  encoding?: AnswerEncoding,
): Promise<APIGatewayProxyStructuredResultV2> {
  const parts = partsOf(result);
  const bytes = byteLengthOf(parts);
  if (encoding === undefined || result.incompressible || bytes < LIMITS.compressAnswerBytes)
    return respondPlain(result, parts);
  return {
    statusCode: result.statusCode,
    headers: {
      'content-type': contentTypeOf(result),
      'content-encoding': encoding,
      vary: 'accept-encoding',
      ...result.headers,
    },
    body: (await compress(parts, bytes, encoding)).toString('base64'),
    isBase64Encoded: true,
  };
}

/**
 * The answer to an error the caller can act on: its class's status and stable code, its message, and
 * only the fields its class declares (docs/errors.md); the rest of its evidence stays in this process.
 */
export function errorResponse(error: BuildbotError): APIGatewayProxyStructuredResultV2 {
  // An error that knows when to come back (a 503, a queue name SQS holds for a minute) says so in the header
  // every HTTP client and proxy knows; its class declares retryAfterSeconds as a body field too.
  const retryAfter = error.details.retryAfterSeconds;
  const headers: Record<string, string> =
    typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {};
  return respondPlain({ statusCode: error.statusCode, body: error.httpBody(), headers });
}

/** The answer to a bug or an AWS fault: internal_error and the request id, nothing of the error itself. */
export function internalErrorResponse(requestId: string): APIGatewayProxyStructuredResultV2 {
  const message = `internal error (request ${requestId}); see the function's logs`;
  return respondPlain({ statusCode: 500, body: new BuildbotError(message).httpBody() });
}

/** One Lambda handler serving several routes, keyed as API Gateway keys them ("POST /v1/objects"). */
export function httpRouter(
  routes: Record<string, RouteHandler>,
  opts: Partial<BodyLimits> = {},
): LambdaHandler<HttpEvent, APIGatewayProxyStructuredResultV2> {
  const limits: BodyLimits = {
    maxBodyBytes: opts.maxBodyBytes ?? LIMITS.clientBodyBytes,
    textBatch: opts.textBatch,
  };
  return observed(async function httpRouterHandler(event: HttpEvent) {
    const route = routes[event.routeKey];
    const answerEncoding = answerEncodingOf(event.headers['accept-encoding']);
    try {
      if (!route) throw new BuildbotError(`no handler for route ${event.routeKey} in this function`);
      const principal = principalOf(event);
      const body = decodeBody(event, limits);
      const request: HttpRequest = {
        principal,
        caller: callerOf(event),
        params: (event.pathParameters ?? {}) as Record<string, string>,
        query: (event.queryStringParameters ?? {}) as Record<string, string>,
        body: body.value,
        answerEncoding,
      };
      if (body.text !== undefined) request.bodyText = body.text;
      return await respond(await route(request), answerEncoding);
    } catch (error) {
      if (error instanceof BuildbotError && error.answersCaller) {
        // The caller's mistake, answered as such: DEBUG only, and its code, not its message (which may quote the body).
        logger.debug('answered an error', {
          route: event.routeKey,
          statusCode: error.statusCode,
          code: error.code,
        });
        return errorResponse(error);
      }
      // DynamoDB or SQS unreachable or throttling past the SDK's own retries: nothing is wrong with the request, so
      // 503 and Retry-After (docs/errors.md), not a 500. Logged as a warning: it names the fault, not a bug.
      const unavailable = serviceUnavailableOf(error);
      if (unavailable) {
        logger.warn('backing service unavailable; answered 503', { route: event.routeKey, error });
        return errorResponse(unavailable);
      }
      // A bug or an AWS fault: log its name, message, stack and causes (shared/observability.ts keeps the
      // rest of an error, stored items included, out of the log), answer 500 as API Gateway would for a crash.
      logger.error('unhandled error; answered 500', { route: event.routeKey, error });
      return internalErrorResponse(event.requestContext.requestId);
    }
  });
}
