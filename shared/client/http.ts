import { gzipSync } from 'node:zlib';
import { BuildbotError } from '../errors.ts';

/**
 * The one HTTP helper every API caller uses (the TypeScript client, the worker, the CLI): JSON in and
 * out, bearer token, optional gzip for large bodies, and a typed error that carries the answer.
 */
export interface ApiConnection {
  apiUrl: string;
  token: string;
}

/** Bodies at least this large are gzipped on the way (the edge inflates them). @default 8 KiB */
export const GZIP_THRESHOLD_BYTES = 8 * 1024;

/** The API answered with a status that is not 2xx. `body` holds its JSON answer (`error`, `message`, evidence). */
export class ApiError extends BuildbotError {
  readonly status: number;
  readonly body: Record<string, unknown>;

  constructor(method: string, path: string, status: number, body: Record<string, unknown>) {
    const message = typeof body.message === 'string' ? body.message : JSON.stringify(body);
    super(`${method} ${path} answered ${status}: ${message}`);
    this.status = status;
    this.body = body;
  }
}

export interface ApiRequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Return the answer as text rather than parsed JSON. */
  text?: boolean;
  /** Called with the headers of a 2xx answer (GET .../logs/{name} says in headers where to continue). */
  onHeaders?: (headers: Headers) => void;
}

export async function apiRequest<T>(
  connection: ApiConnection,
  method: string,
  path: string,
  opts: ApiRequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${connection.token}` };
  let body: Buffer | string | undefined;
  if (opts.body !== undefined) {
    const json = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
    if (json.length >= GZIP_THRESHOLD_BYTES) {
      body = gzipSync(json, { level: 1 });
      headers['content-encoding'] = 'gzip';
    } else {
      body = json;
    }
  }
  const base = connection.apiUrl.endsWith('/') ? connection.apiUrl : `${connection.apiUrl}/`;
  const response = await fetch(new URL(path.replace(/^\/+/, ''), base), {
    method,
    headers,
    body,
    signal: opts.signal,
  });
  const text = await response.text();
  if (!response.ok) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { message: text };
    }
    throw new ApiError(method, path, response.status, parsed);
  }
  opts.onHeaders?.(response.headers);
  if (opts.text) return text as T;
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
