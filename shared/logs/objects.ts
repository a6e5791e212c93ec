// Owns log objects in S3 for the API: their keys under logs/, the presigned PUT a worker uploads one with, and the checks and reads of a stored one.
import type { ArtifactsContext } from '../artifacts/context.ts';
import { artifactsContextFromEnv } from '../artifacts/context.ts';
import { getUrl, objectSize, putUrl } from '../artifacts/s3.ts';
import { getObject } from '../artifacts/transfer.ts';
import * as LIMITS from '../limits.ts';
import type { LogObjectUpload } from './wire.ts';

/**
 * Access patterns (the artifacts bucket, infra/artifacts.yml):
 *   1. A worker stores a large text run              S3 PUT (presigned)  logs/<commandId>/<first seq>-<sha256>
 *   2. The API checks it before recording it         S3 HEAD             same key (once the worker says it PUT it)
 *   3. A read of the command's updates or logs       S3 GET (ranged)     same key, one per page slice
 *   4. A client reads a log's text itself            S3 GET (presigned)  same key (GET .../logs/{name}/links)
 * The key is the command, the run's first seq and the hash of its bytes: a resend of the same run puts the
 * same bytes under the same key, and two different runs never share one. The objects expire by the
 * bucket's logs/ lifecycle rule, a day after the run items' TTL (LIMITS.retentionSeconds).
 */
export const LOG_OBJECT_PREFIX = 'logs/';

export function logObjectKey(commandId: string, first: number, sha256: string): string {
  return `${LOG_OBJECT_PREFIX}${commandId}/${String(first).padStart(10, '0')}-${sha256}`;
}

/** What ingest and reads need of S3: kept behind an interface so that a function without the bucket never asks for it. */
export interface LogObjectStore {
  /** The object's size, or undefined when it is not there. */
  size(key: string): Promise<number | undefined>;
  /** A presigned PUT for bytes of this sha256 (hex) and length. */
  upload(key: string, sha256: string, bytes: number): Promise<LogObjectUpload>;
  /** Bytes start..end (exclusive) of the object (exactly those, else TransferFailedError). */
  read(key: string, start: number, end: number): Promise<Buffer>;
  /** A presigned GET of the object for a client, valid LIMITS.artifactDownloadUrlSeconds (it asks a Range of it). */
  link(key: string): Promise<string>;
}

/** Seconds a URL the API signs for its own GET is valid: it is used at once. */
const OWN_GET_SECONDS = 60;

export function logObjectStore(ctx: ArtifactsContext): LogObjectStore {
  return {
    size: (key) => objectSize(ctx, key),
    async upload(key, sha256, bytes) {
      const headers = {
        'x-amz-checksum-sha256': Buffer.from(sha256, 'hex').toString('base64'),
        'content-length': String(bytes),
      };
      return { url: await putUrl(ctx, key, LIMITS.artifactUploadUrlSeconds, headers), headers };
    },
    async read(key, start, end) {
      return getObject(await getUrl(ctx, key, OWN_GET_SECONDS), start, end);
    },
    link: (key) => getUrl(ctx, key, LIMITS.artifactDownloadUrlSeconds),
  };
}

/** The store of the environment's bucket, made on first use (most requests never touch a log object). */
export function logObjectStoreFromEnv(): LogObjectStore {
  let store: LogObjectStore | undefined;
  const get = (): LogObjectStore => (store ??= logObjectStore(artifactsContextFromEnv()));
  return {
    size: (key) => get().size(key),
    upload: (key, sha256, bytes) => get().upload(key, sha256, bytes),
    read: (key, start, end) => get().read(key, start, end),
    link: (key) => get().link(key),
  };
}
