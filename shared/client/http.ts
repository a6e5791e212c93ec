import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { BuildbotError } from '../errors.ts';

/**
 * The one HTTP helper every API caller uses (the TypeScript client, the worker, the CLI): JSON in and
 * out, bearer token, brotli for large bodies both ways, and a typed error that carries the answer.
 */
export interface ApiConnection {
  apiUrl: string;
  token: string;
}

/** Bodies at least this large are compressed on the way (the edge inflates them). @default 8 KiB */
export const COMPRESS_THRESHOLD_BYTES = 8 * 1024;

/** A request body ready to send, and its sizes (the worker bounds its requests by them). */
export interface EncodedBody {
  bytes: Buffer;
  /** Content-Encoding, when compressed. */
  encoding?: 'br';
  /** UTF-8 bytes of the JSON before compression. */
  jsonBytes: number;
}

/**
 * JSON, brotli-compressed (quality 1) from COMPRESS_THRESHOLD_BYTES on: it keeps up with a fast process
 * (50 MB of `yes hello` in about 20 ms, random text at about 170 MB/s) and compresses better than gzip.
 */
export function encodeBody(value: unknown): EncodedBody {
  const json = Buffer.from(JSON.stringify(value), 'utf8');
  if (json.length < COMPRESS_THRESHOLD_BYTES) return { bytes: json, jsonBytes: json.length };
  const bytes = brotliCompressSync(json, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: json.length },
  });
  return { bytes, encoding: 'br', jsonBytes: json.length };
}

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
  /** A body already encoded with encodeBody (instead of `body`). */
  encoded?: EncodedBody;
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
  // fetch inflates br and gzip answers itself; large pages of log come compressed.
  const headers: Record<string, string> = {
    authorization: `Bearer ${connection.token}`,
    'accept-encoding': 'br, gzip',
  };
  const encoded = opts.encoded ?? (opts.body === undefined ? undefined : encodeBody(opts.body));
  if (encoded !== undefined) {
    headers['content-type'] = 'application/json';
    if (encoded.encoding !== undefined) headers['content-encoding'] = encoded.encoding;
  }
  const base = connection.apiUrl.endsWith('/') ? connection.apiUrl : `${connection.apiUrl}/`;
  const response = await fetch(new URL(path.replace(/^\/+/, ''), base), {
    method,
    headers,
    body: encoded?.bytes,
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
