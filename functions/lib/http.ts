import { gunzipSync } from 'node:zlib';
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
import type { AuthorizerContext, Principal } from '../../shared/auth/types.ts';

/**
 * The HTTP edge every route function shares: it decodes the body (base64, gzip), parses JSON under a
 * size limit, resolves the caller, dispatches on the route key and maps errors to status codes.
 * Everything it hands on is plain data; decisions stay in shared/.
 */
export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<
  AuthorizerContext | { role: ''; worker: '' }
>;

export interface HttpRequest {
  principal: Principal;
  params: Record<string, string>;
  query: Record<string, string>;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface HttpResult {
  statusCode: number;
  body?: unknown;
  /** Sent as text/plain instead of JSON (log text). */
  text?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResult>;

/** Largest request body accepted after decompression, in bytes. @default 1 MiB */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function decodeBody(event: HttpEvent, maxBodyBytes: number): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  let raw: Buffer = event.isBase64Encoded
    ? Buffer.from(event.body, 'base64')
    : Buffer.from(event.body, 'utf8');
  const encoding = (event.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip') {
    try {
      raw = gunzipSync(raw, { maxOutputLength: maxBodyBytes + 1 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        raw = Buffer.alloc(maxBodyBytes + 1);
      else
        throw new ValidationError('body says Content-Encoding: gzip but is not gzip data', { cause: error });
    }
  } else if (encoding !== '' && encoding !== 'identity') {
    throw new ValidationError(`unsupported Content-Encoding ${encoding}; send gzip or nothing`);
  }
  if (raw.length > maxBodyBytes)
    throw new PayloadTooLargeError(`body is ${raw.length} bytes; the limit is ${maxBodyBytes} bytes`, {
      details: { limit: maxBodyBytes },
    });
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new ValidationError(`body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

function principalOf(event: HttpEvent): Principal {
  const context = event.requestContext.authorizer?.lambda;
  if (!context || context.role === '')
    throw new UnauthorizedError('missing or unknown bearer token; send Authorization: Bearer <token>');
  if (context.role === ROLES.worker) return { role: ROLES.worker, worker: context.worker };
  return { role: context.role } as Principal;
}

function respond(result: HttpResult): APIGatewayProxyStructuredResultV2 {
  if (result.text !== undefined)
    return {
      statusCode: result.statusCode,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...result.headers },
      body: result.text,
    };
  return {
    statusCode: result.statusCode,
    headers: { 'content-type': 'application/json', ...result.headers },
    body: result.body === undefined ? '' : JSON.stringify(result.body),
  };
}

export function errorResponse(error: BuildbotError): APIGatewayProxyStructuredResultV2 {
  return respond({
    statusCode: error.statusCode,
    body: { error: error.name, message: error.message, ...error.details },
  });
}

/** One Lambda handler serving several routes, keyed as API Gateway keys them ("POST /v1/objects"). */
export function httpRouter(
  routes: Record<string, RouteHandler>,
  opts: { maxBodyBytes?: number } = {},
): (event: HttpEvent) => Promise<APIGatewayProxyStructuredResultV2> {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async function httpRouterHandler(event) {
    const route = routes[event.routeKey];
    try {
      if (!route) throw new BuildbotError(`no handler for route ${event.routeKey} in this function`);
      const principal = principalOf(event);
      const request: HttpRequest = {
        principal,
        params: (event.pathParameters ?? {}) as Record<string, string>,
        query: (event.queryStringParameters ?? {}) as Record<string, string>,
        body: decodeBody(event, maxBodyBytes),
      };
      return respond(await route(request));
    } catch (error) {
      if (error instanceof BuildbotError && error.statusCode < 500) return errorResponse(error);
      // A bug or an AWS fault: log it whole, answer 500 as API Gateway would for a crash.
      console.error(
        JSON.stringify({
          level: 'error',
          route: event.routeKey,
          error: String(error),
          stack: (error as Error).stack,
        }),
      );
      return respond({
        statusCode: 500,
        body: {
          error: 'InternalError',
          message: `internal error (request ${event.requestContext.requestId}); see the function's logs`,
        },
      });
    }
  };
}
