// Owns the API calls around a transfer, for the worker and the client: each moves bytes through the URLs they return.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { apiRequest } from '../client/http.ts';
import type { ApiConnection } from '../client/http.ts';
import { ApiError } from '../client/errors.ts';
import { ChecksumMismatchError } from './errors.ts';
import { completeWithUrl, downloadStream, uploadStream } from './transfer.ts';
import type { UploadOptions } from './transfer.ts';
import type {
  ArtifactPartsResponse,
  ArtifactView,
  CommandBlobResponse,
  CreateBlobResponse,
  StartArtifactResponse,
} from './wire.ts';
import { ARTIFACT_HEADERS } from './wire.ts';

/**
 * The worker's side: an artifact of its running command (uploadFile, uploadDirectory) and the blob of its
 * downloadFile. The client's side: a blob to upload, and an artifact's URL. Whatever the size, no byte goes
 * through the API: it answers URLs, and the bytes go to S3 (docs/artifacts.md).
 */

const artifactsPath = (commandId: string): string =>
  `/v1/commands/${encodeURIComponent(commandId)}/artifacts`;

export type ArtifactUpload = { exceeded: false; artifact: ArtifactView } | { exceeded: true; size: number };

/**
 * Uploads `source` as artifact `name` of the caller's running command and records it (size, sha256). When
 * more than opts.maxBytes come, the transfer stops and nothing is recorded (the parts are left to the
 * bucket's lifecycle rule, which aborts them after a day).
 */
export async function uploadArtifact(
  connection: ApiConnection,
  commandId: string,
  name: string,
  source: AsyncIterable<Uint8Array>,
  opts: UploadOptions & { expectedBytes?: number } = {},
): Promise<ArtifactUpload> {
  const base = artifactsPath(commandId);
  const at = `${base}/${encodeURIComponent(name)}`;
  const signal = opts.signal ? { signal: opts.signal } : {};
  const started = await apiRequest<StartArtifactResponse>(connection, 'POST', base, {
    body: { name },
    ...signal,
  });
  const uploaded = await uploadStream(
    source,
    {
      partBytes: started.partBytes,
      urls: async (first, count) =>
        (
          await apiRequest<ArtifactPartsResponse>(connection, 'POST', `${at}/parts`, {
            body: { uploadId: started.uploadId, first, count },
            ...signal,
          })
        ).parts,
    },
    opts,
  );
  if (uploaded.exceeded) return { exceeded: true, size: uploaded.size };
  const artifact = await apiRequest<ArtifactView>(connection, 'PUT', at, {
    body: { uploadId: started.uploadId, parts: uploaded.parts, size: uploaded.size, sha256: uploaded.sha256 },
    ...signal,
  });
  return { exceeded: false, artifact };
}

/** The blob the caller's running downloadFile names: its size and a URL to GET. */
export function commandBlob(connection: ApiConnection, commandId: string): Promise<CommandBlobResponse> {
  return apiRequest<CommandBlobResponse>(
    connection,
    'GET',
    `/v1/commands/${encodeURIComponent(commandId)}/blob`,
  );
}

/** Uploads `size` bytes of `source` as a new blob and completes it; answers its id, for a downloadFile. */
export async function uploadBlob(
  connection: ApiConnection,
  source: AsyncIterable<Uint8Array>,
  size: number,
  opts: UploadOptions = {},
): Promise<{ blobId: string; sha256: string }> {
  const { blobId, upload } = await apiRequest<CreateBlobResponse>(connection, 'POST', '/v1/blobs', {
    body: { size },
  });
  const uploaded = await uploadStream(
    source,
    {
      partBytes: upload.partBytes,
      urls: async (first, count) => upload.parts.slice(first - 1, first - 1 + count),
    },
    { ...opts, maxBytes: size, expectedBytes: size },
  );
  if (uploaded.exceeded || uploaded.size !== size)
    throw new ApiError('POST', '/v1/blobs', 400, {
      code: 'invalid_request',
      message: `the source gave ${uploaded.size} bytes where ${size} were declared`,
    });
  await completeWithUrl(upload.complete, uploaded.parts);
  return { blobId, sha256: uploaded.sha256 };
}

/** Where to read an artifact (a short-lived URL) and what to expect there. */
export interface ArtifactLocation {
  url: string;
  size: number;
  sha256: string;
}

/** The artifact's redirect, read rather than followed: its body carries the URL, size and sha256. */
export async function artifactLocation(
  connection: ApiConnection,
  commandId: string,
  name: string,
): Promise<ArtifactLocation> {
  const path = `${artifactsPath(commandId)}/${encodeURIComponent(name)}`;
  try {
    await apiRequest(connection, 'GET', path);
  } catch (error) {
    // apiRequest takes any answer outside 2xx as an ApiError; a 302 is this route's success.
    if (error instanceof ApiError && error.status === 302) {
      const { url, size, sha256 } = error.body as { url?: unknown; size?: unknown; sha256?: unknown };
      if (typeof url === 'string' && typeof size === 'number' && typeof sha256 === 'string')
        return { url, size, sha256 };
    }
    throw error;
  }
  throw new ApiError('GET', path, 200, {
    message: `expected a redirect (${ARTIFACT_HEADERS.sha256} says the sum)`,
  });
}

/**
 * Streams the artifact into `destination` (a file the caller opened), hashing as it goes, and checks size and
 * sha256 against what the worker recorded: a mismatch is ChecksumMismatchError, and the caller discards what
 * was written. Memory holds one chunk at a time.
 */
export async function downloadArtifact(
  connection: ApiConnection,
  commandId: string,
  name: string,
  destination: NodeJS.WritableStream,
  opts: { signal?: AbortSignal; onProgress?: (bytes: number, size: number) => void } = {},
): Promise<{ size: number; sha256: string }> {
  const location = await artifactLocation(connection, commandId, name);
  const { body } = await downloadStream(location.url, opts.signal);
  const hash = createHash('sha256');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      opts.onProgress?.(size, location.size);
      callback(null, chunk);
    },
  });
  await pipeline(body, measure, destination, opts.signal ? { signal: opts.signal } : {});
  const sha256 = hash.digest('hex');
  if (sha256 !== location.sha256 || size !== location.size)
    throw new ChecksumMismatchError(`artifact ${name} of command ${commandId}`, location.sha256, sha256);
  return { size, sha256 };
}
