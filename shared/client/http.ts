// Owns the one HTTP helper every API caller uses: JSON both ways, the bearer token, brotli, typed errors.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, constants as zlib } from 'node:zlib';
import { BuildbotError } from '../errors.ts';
import { ApiError, ApiUnreachableError } from './errors.ts';

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
  /** Content-Type of the body before compression. @default application/json */
  contentType?: string;
  /** Content-Encoding, when compressed. */
  encoding?: 'br';
  /** Bytes of the body before compression. */
  plainBytes: number;
}

/**
 * Brotli (quality 1) from COMPRESS_THRESHOLD_BYTES on: it keeps up with a fast process (50 MB of
 * `yes hello` in about 20 ms, random text at about 170 MB/s) and compresses better than gzip.
 */
export function compressBody(plain: Buffer, contentType?: string): EncodedBody {
  const typed = contentType === undefined ? {} : { contentType };
  if (plain.length < COMPRESS_THRESHOLD_BYTES) return { bytes: plain, plainBytes: plain.length, ...typed };
  return { bytes: brotliQuick(plain), encoding: 'br', plainBytes: plain.length, ...typed };
}

/** Brotli at quality 1, as compressBody uses it (the worker also estimates how its output compresses with it). */
export function brotliQuick(plain: Buffer): Buffer {
  return brotliCompressSync(plain, {
    params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: plain.length },
  });
}

/** A JSON body, compressed as compressBody does. */
export function encodeBody(value: unknown): EncodedBody {
  return compressBody(Buffer.from(JSON.stringify(value), 'utf8'));
}

export interface ApiRequestOptions {
  body?: unknown;
  /** A body already encoded with encodeBody (instead of `body`). */
  encoded?: EncodedBody;
  signal?: AbortSignal;
  /** Return the answer as text rather than parsed JSON. */
  text?: boolean;
  /** Return the answer as bytes, undecoded (UTF-8 log text to hash or write as it is). */
  bytes?: boolean;
  /** Called with the headers of a 2xx answer (GET .../logs/{name} says in headers where to continue). */
  onHeaders?: (headers: Headers) => void;
}

/**
 * Connections are kept alive between requests (a worker makes several per command). node:http rather
 * than fetch: fetch inflates a compressed answer as a stream in 16 KiB steps, 6 times slower than one
 * synchronous inflate of the whole body (a 50 MB log page: ~350 ms against ~55 ms).
 */
const agents = {
  'http:': new HttpAgent({ keepAlive: true }),
  'https:': new HttpsAgent({ keepAlive: true }),
};

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function send(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal?: AbortSignal,
  retried = false,
): Promise<RawAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const agent = url.protocol === 'https:' ? agents['https:'] : agents['http:'];
  // An abort by the caller's signal rejects with its reason, whether the answer had started or not.
  const unreachable = (error: Error): Error =>
    signal?.aborted ? (signal.reason as Error) : new ApiUnreachableError(method, url, error);
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, agent, signal }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', (error) => reject(unreachable(error)));
      response.on('end', () => {
        try {
          const inflated = inflateAnswer(Buffer.concat(chunks), response.headers['content-encoding']);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: inflated });
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as this request went out: nothing reached the server,
      // so sending once more on a fresh connection is safe (the pattern Node's docs give for reusedSocket).
      if (outgoing.reusedSocket && error.code === 'ECONNRESET' && !retried && !signal?.aborted)
        return resolve(send(method, url, headers, body, signal, true));
      reject(unreachable(error));
    });
    outgoing.end(body);
  });
}

/** The answer's body as sent before Content-Encoding (br or gzip, which the client asked for). */
function inflateAnswer(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').toLowerCase()) {
    case 'br':
      return brotliDecompressSync(body);
    case 'gzip':
      return gunzipSync(body);
    case '':
    case 'identity':
      return body;
    default:
      throw new BuildbotError(
        `the API answered with Content-Encoding ${encoding}, which this client did not ask for`,
      );
  }
}

function headersOf(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming))
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  return headers;
}

export async function apiRequest<T>(
  connection: ApiConnection,
  method: string,
  path: string,
  opts: ApiRequestOptions = {},
): Promise<T> {
  // Large pages of log come compressed; send() inflates them.
  const headers: Record<string, string> = {
    authorization: `Bearer ${connection.token}`,
    'accept-encoding': 'br, gzip',
  };
  const encoded = opts.encoded ?? (opts.body === undefined ? undefined : encodeBody(opts.body));
  if (encoded !== undefined) {
    headers['content-type'] = encoded.contentType ?? 'application/json';
    headers['content-length'] = String(encoded.bytes.length);
    if (encoded.encoding !== undefined) headers['content-encoding'] = encoded.encoding;
  }
  const base = connection.apiUrl.endsWith('/') ? connection.apiUrl : `${connection.apiUrl}/`;
  const url = new URL(path.replace(/^\/+/, ''), base);
  const answer = await send(method, url, headers, encoded?.bytes, opts.signal);
  const ok = answer.status >= 200 && answer.status < 300;
  if (ok && opts.bytes) {
    opts.onHeaders?.(headersOf(answer.headers));
    return answer.body as T;
  }
  const text = answer.body.toString('utf8');
  if (!ok) {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { message: text };
    }
    throw new ApiError(method, path, answer.status, parsed);
  }
  opts.onHeaders?.(headersOf(answer.headers));
  if (opts.text) return text as T;
  return (text === '' ? undefined : JSON.parse(text)) as T;
}
