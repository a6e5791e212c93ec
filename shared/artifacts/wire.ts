// The artifacts API's wire: request bodies and answers of the blob and artifact routes, one schema each.
import * as v from 'valibot';
import { fields, integer, text } from '../schema.ts';
import type { Infer } from '../schema.ts';
import * as LIMITS from '../limits.ts';

/**
 * Requests are strict, answers open (shared/commands/wire.ts says why). Every byte moves through the
 * presigned URLs these carry, never through the API (docs/artifacts.md).
 */

/** A blob id: 32 hex digits, made by POST /v1/blobs. */
export const blobId = text({ minLength: 32, maxLength: 32, pattern: /^[0-9a-f]{32}$/ });

/**
 * An artifact's name, one path component: no `/`, `\`, control character, and not `.` or `..`. It is the last
 * part of the object key and of the redirect's route.
 */
export const artifactName = text({
  minLength: 1,
  maxLength: LIMITS.artifactNameLength,
  // Control characters are the point of this class: the name must hold none.
  // eslint-disable-next-line no-control-regex
  pattern: /^(?!\.\.?$)[^/\\\u0000-\u001f\u007f]+$/,
});

const size = integer(0, LIMITS.artifactMaxBytes);
const sha256 = text({ minLength: 64, maxLength: 64, pattern: /^[0-9a-f]{64}$/ });
const partNumber = integer(1, LIMITS.artifactMaxParts);

export const presignedPart = v.object({ partNumber: v.number(), url: v.string() });

/** POST /v1/blobs: the blob's exact size, which fixes its parts. */
export const createBlobRequest = fields({
  size: integer(0, LIMITS.artifactPartUrlsPerAnswer * LIMITS.artifactPartBytes),
});

/**
 * A blob's upload: PUT each part's bytes (partBytes each, the last one shorter) to its URL, keep each answer's
 * ETag, then POST CompleteMultipartUpload's XML, the parts and their ETags, to `complete`.
 */
export const blobUpload = v.object({
  uploadId: v.string(),
  partBytes: v.number(),
  parts: v.array(presignedPart),
  complete: v.string(),
});
export const createBlobResponse = v.object({ blobId: v.string(), upload: blobUpload });

/** POST /v1/commands/{id}/artifacts (worker): starts the upload of one artifact of its running command. */
export const startArtifactRequest = fields({ name: artifactName });
export const startArtifactResponse = v.object({
  name: v.string(),
  uploadId: v.string(),
  partBytes: v.number(),
});

/** POST /v1/commands/{id}/artifacts/{name}/parts (worker): URLs for parts first..first+count-1. */
export const artifactPartsRequest = fields({
  uploadId: text({ minLength: 1, maxLength: 1024 }),
  first: partNumber,
  count: integer(1, LIMITS.artifactPartUrlsPerAnswer),
});
export const artifactPartsResponse = v.object({ parts: v.array(presignedPart) });

/** PUT /v1/commands/{id}/artifacts/{name} (worker): ends the upload and records size and sha256. */
export const finishArtifactRequest = fields({
  uploadId: text({ minLength: 1, maxLength: 1024 }),
  parts: v.pipe(
    v.array(fields({ partNumber, etag: text({ minLength: 1, maxLength: 128 }) })),
    v.minLength(1),
    v.maxLength(LIMITS.artifactMaxParts),
  ),
  size,
  sha256,
});

export const artifactView = v.object({
  name: v.string(),
  size: v.number(),
  sha256: v.string(),
  createdAt: v.string(),
});
export const artifactList = v.object({ artifacts: v.array(artifactView) });
/** The redirect's body (its Location holds the same URL), for a caller that does not follow redirects. */
export const artifactRedirect = v.object({ ...artifactView.entries, url: v.string() });

/** GET /v1/commands/{id}/blob (worker): the blob its downloadFile names, to read from `url`. */
export const commandBlobResponse = v.object({ blobId: v.string(), size: v.number(), url: v.string() });

/** Headers of the artifact redirect: what the client checks the bytes against. */
export const ARTIFACT_HEADERS = { sha256: 'x-bbs-sha256', size: 'x-bbs-size' } as const;

export type CreateBlobResponse = Infer<typeof createBlobResponse>;
export type BlobUpload = Infer<typeof blobUpload>;
export type StartArtifactResponse = Infer<typeof startArtifactResponse>;
export type ArtifactPartsResponse = Infer<typeof artifactPartsResponse>;
export type FinishArtifactRequest = Infer<typeof finishArtifactRequest>;
export type ArtifactView = Infer<typeof artifactView>;
export type ArtifactList = Infer<typeof artifactList>;
export type CommandBlobResponse = Infer<typeof commandBlobResponse>;
