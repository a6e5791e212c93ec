// Owns moving bytes through presigned URLs: a stream cut into parts and PUT a few at a time, and a streamed GET.
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import * as LIMITS from '../limits.ts';
import { TransferFailedError } from './errors.ts';

/**
 * The worker (uploadFile, uploadDirectory, downloadFile) and the client (uploadBlob, downloadArtifact) move
 * bytes with these, straight to and from S3. Memory is bounded by the parts in flight: each part is one
 * buffer of partBytes, and at most LIMITS.artifactPartsInFlight are sent at once while the next is filled
 * (about 32 MiB at 8 MiB parts), whatever the size of the whole. The sha256 is taken as the bytes pass.
 */

export interface PresignedPart {
  partNumber: number;
  url: string;
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface PartTarget {
  partBytes: number;
  /** URLs for parts first..first+count-1 (the worker asks the API; a blob's came with it). */
  urls(first: number, count: number): Promise<PresignedPart[]>;
}

export interface UploadOptions {
  /** Stop once more than this many bytes came (Buildbot's maxsize): `exceeded`, and nothing to complete. */
  maxBytes?: number;
  /** @default LIMITS.artifactPartsInFlight */
  inFlight?: number;
  /** Called with the bytes sent so far after each part. */
  onProgress?: (bytes: number) => void;
  /** Stops the transfer (an interrupt): the upload ends with the signal's reason. */
  signal?: AbortSignal;
}

export interface UploadedStream {
  parts: UploadedPart[];
  size: number;
  sha256: string;
  /** More than maxBytes came: the transfer stopped, and the parts must not be completed. */
  exceeded: boolean;
}

/**
 * node:http(s) with kept-alive connections rather than fetch: fetch hands a body over as a web stream, and
 * converting it back costs about 5x the time of a GET here (the client and the worker read at disk speed).
 */
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) };

function send(
  url: string,
  method: string,
  body: Buffer | undefined,
  signal?: AbortSignal,
  extraHeaders: Record<string, string> = {},
): Promise<IncomingMessage> {
  const target = new URL(url);
  const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
  const request = (protocol === 'https:' ? httpsRequest : httpRequest)(target, {
    method,
    agent: agents[protocol],
    headers: {
      ...(body ? { 'content-type': 'application/octet-stream', 'content-length': String(body.length) } : {}),
      ...extraHeaders,
    },
    ...(signal ? { signal } : {}),
  });
  return new Promise((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
    request.end(body);
  });
}

async function textOf(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The answer when S3 took the request (2xx); else TransferFailedError with S3's body (its <Code>). */
async function accepted(what: string, response: IncomingMessage): Promise<IncomingMessage> {
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 300) throw new TransferFailedError(what, status, await textOf(response));
  return response;
}

/**
 * PUTs one part; its ETag, as S3 answered it (quoted), is what completing the upload names. A content type
 * goes with every part: the local emulator reads an empty body without one as no body at all (500). It is not
 * signed (only `host` is), so S3 takes it as it comes.
 */
async function putPart(part: PresignedPart, bytes: Buffer, signal?: AbortSignal): Promise<UploadedPart> {
  const response = await accepted(`part ${part.partNumber}`, await send(part.url, 'PUT', bytes, signal));
  await textOf(response);
  const etag = response.headers.etag;
  if (!etag)
    throw new TransferFailedError(
      `part ${part.partNumber}`,
      response.statusCode ?? 0,
      'no ETag in the answer',
    );
  return { partNumber: part.partNumber, etag };
}

/**
 * Part URLs asked for at a time (256 MiB of parts): asked for as they are needed, so that none expires
 * (LIMITS.artifactUploadUrlSeconds) before it is used, even at a few MiB/s. A page is one small API call.
 */
const URLS_PER_PAGE = Math.min(32, LIMITS.artifactPartUrlsPerAnswer);

/** Hands out part URLs in order, asking `target` for a page whenever the ones in hand run out. */
function urlSupply(
  target: PartTarget,
  expectedParts?: number,
): (partNumber: number) => Promise<PresignedPart> {
  const known = new Map<number, PresignedPart>();
  return async (partNumber) => {
    if (!known.has(partNumber)) {
      const left = expectedParts === undefined ? Infinity : Math.max(1, expectedParts - partNumber + 1);
      const count = Math.min(URLS_PER_PAGE, left, LIMITS.artifactMaxParts - partNumber + 1);
      if (count < 1)
        throw new TransferFailedError(`part ${partNumber}`, 0, `more than ${LIMITS.artifactMaxParts} parts`);
      for (const part of await target.urls(partNumber, count)) known.set(part.partNumber, part);
    }
    const part = known.get(partNumber);
    if (!part) throw new TransferFailedError(`part ${partNumber}`, 0, 'no URL was given for it');
    known.delete(partNumber);
    return part;
  };
}

/**
 * Cuts `source` into parts of target.partBytes and PUTs each to its URL, a few at once. An empty source is
 * one empty part (S3 needs one). `expectedBytes`, when known, sizes the pages of URLs asked for.
 */
export async function uploadStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  target: PartTarget,
  opts: UploadOptions & { expectedBytes?: number } = {},
): Promise<UploadedStream> {
  const { partBytes } = target;
  const inFlight = opts.inFlight ?? LIMITS.artifactPartsInFlight;
  const expectedParts =
    opts.expectedBytes === undefined ? undefined : Math.max(1, Math.ceil(opts.expectedBytes / partBytes));
  const nextUrl = urlSupply(target, expectedParts);
  const hash = createHash('sha256');
  const done: UploadedPart[] = [];
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  let size = 0;
  let sent = 0;
  let partNumber = 0;
  // Part buffers are reused once S3 has answered for them (it has read the whole body by then): the worker
  // holds inFlight + 1 of them, rather than a new 8 MiB buffer a part that only a later GC gives back.
  const free: Buffer[] = [];
  const take = (): Buffer => free.pop() ?? Buffer.allocUnsafe(partBytes);
  let buffer = take();
  let filled = 0;

  const send = async (bytes: Buffer): Promise<void> => {
    partNumber++;
    const url = await nextUrl(partNumber);
    const whole = buffer;
    const task = putPart(url, bytes, opts.signal).then(
      (part) => {
        done.push(part);
        sent += bytes.length;
        free.push(whole);
        opts.onProgress?.(sent);
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    const tracked = task.finally(() => pending.delete(tracked));
    pending.add(tracked);
    // Back-pressure: no more than inFlight parts held; the source waits meanwhile.
    while (pending.size >= inFlight) await Promise.race(pending);
    if (failure) throw failure;
  };

  for await (const chunk of source) {
    let view = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (opts.maxBytes !== undefined && size + view.length > opts.maxBytes) {
      await Promise.allSettled(pending);
      return { parts: [], size: size + view.length, sha256: '', exceeded: true };
    }
    hash.update(view);
    size += view.length;
    while (view.length > 0) {
      const count = Math.min(view.length, partBytes - filled);
      view.copy(buffer, filled, 0, count);
      filled += count;
      view = view.subarray(count);
      if (filled === partBytes) {
        await send(buffer);
        buffer = take();
        filled = 0;
      }
    }
  }
  if (filled > 0 || partNumber === 0) await send(buffer.subarray(0, filled));
  await Promise.all(pending);
  if (failure) throw failure;
  done.sort((a, b) => a.partNumber - b.partNumber);
  return { parts: done, size, sha256: hash.digest('hex'), exceeded: false };
}

/** CompleteMultipartUpload's body: the parts in order with their ETags. */
export function completeXml(parts: UploadedPart[]): string {
  const items = parts
    .map(
      (part) =>
        `<Part><PartNumber>${part.partNumber}</PartNumber><ETag>${escapeXml(part.etag)}</ETag></Part>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUpload>${items}</CompleteMultipartUpload>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** POSTs the parts to a presigned CompleteMultipartUpload URL (a blob's upload ends so, without the API). */
export async function completeWithUrl(url: string, parts: UploadedPart[]): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/xml' },
    body: completeXml(parts),
  });
  // S3 may answer 200 with an <Error> body when completing fails late: read it to be sure.
  const text = await response.text();
  if (!response.ok || text.includes('<Error>'))
    throw new TransferFailedError('complete', response.status, text);
}

/** PUTs one whole object to a presigned URL, with the headers it was signed for (a log object: shared/logs). */
export async function putObject(url: string, body: Buffer, headers: Record<string, string>): Promise<void> {
  await textOf(await accepted('PUT of a log object', await send(url, 'PUT', body, undefined, headers)));
}

/** GETs bytes start..end (exclusive) of the object at a presigned URL into one buffer (a log object's slice). */
export async function getObject(
  url: string,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const size = end - start;
  const range = { range: `bytes=${start}-${end - 1}` };
  const response = await accepted('GET of a log object', await send(url, 'GET', undefined, signal, range));
  const status = response.statusCode ?? 0;
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for await (const chunk of response) {
    const piece = chunk as Buffer;
    if (at + piece.length > size)
      throw new TransferFailedError('GET of a log object', status, `more than ${size} bytes`);
    piece.copy(bytes, at);
    at += piece.length;
  }
  if (at !== size)
    throw new TransferFailedError('GET of a log object', status, `${at} bytes where ${size} were stored`);
  return bytes;
}

/** GETs a presigned URL as a stream of its bytes; a refusal (an expired URL: 403) is TransferFailedError. */
export async function downloadStream(
  url: string,
  signal?: AbortSignal,
): Promise<{ size: number; body: Readable }> {
  const response = await accepted('download', await send(url, 'GET', undefined, signal));
  return { size: Number(response.headers['content-length'] ?? NaN), body: response };
}
