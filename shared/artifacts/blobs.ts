// Owns blobs: what a client uploads (POST /v1/blobs) for a worker's downloadFile, and the worker's read of it.
import { randomBytes } from 'node:crypto';
import { CommandStateError } from '../commands/errors.ts';
import { argsOf, loadCommand, requireOwner } from '../commands/items.ts';
import { COMMAND_STATUS } from '../commands/types.ts';
import * as LIMITS from '../limits.ts';
import { ValidationError } from '../errors.ts';
import type { ArtifactsContext } from './context.ts';
import { BlobNotFoundError } from './errors.ts';
import { blobObjectKey } from './keys.ts';
import { completeUrl, createUpload, getUrl, objectSize, partUrls } from './s3.ts';
import type { CommandBlobResponse, CreateBlobResponse } from './wire.ts';

/** The downloading commands, by the names a master sends: their `blob` arg names the blob to read. */
const DOWNLOAD_COMMANDS = new Set(['downloadFile', 'download_file']);

/**
 * Makes a blob's multipart upload and presigns all its parts (an empty blob has one empty part) and its
 * completion. The client uploads and completes it itself; the blob exists once it has.
 */
export async function createBlob(ctx: ArtifactsContext, size: number): Promise<CreateBlobResponse> {
  const blobId = randomBytes(16).toString('hex');
  const key = blobObjectKey(blobId);
  const uploadId = await createUpload(ctx, key);
  const count = Math.max(1, Math.ceil(size / LIMITS.artifactPartBytes));
  const [parts, complete] = await Promise.all([
    partUrls(ctx, key, uploadId, 1, count, LIMITS.artifactUploadUrlSeconds),
    completeUrl(ctx, key, uploadId, LIMITS.artifactUploadUrlSeconds),
  ]);
  return { blobId, upload: { uploadId, partBytes: LIMITS.artifactPartBytes, parts, complete } };
}

/**
 * The blob a worker's running downloadFile names, as a presigned GET. The worker gets only the blob its own
 * command's args name: it cannot read another blob by guessing an id.
 */
export async function blobForCommand(
  ctx: ArtifactsContext,
  worker: string,
  commandId: string,
): Promise<CommandBlobResponse> {
  const item = await loadCommand(ctx.commands, commandId);
  requireOwner(item, worker);
  if (item.status !== COMMAND_STATUS.running)
    throw new CommandStateError(commandId, item.status, 'a blob is read only while its command runs');
  const blobId = argsOf(item).blob;
  if (!DOWNLOAD_COMMANDS.has(item.command) || typeof blobId !== 'string' || !/^[0-9a-f]{32}$/.test(blobId))
    throw new ValidationError(`command ${commandId} is no downloadFile with a blob id in its args`, {
      details: { path: 'args.blob' },
    });
  const key = blobObjectKey(blobId);
  const size = await objectSize(ctx, key);
  if (size === undefined) throw new BlobNotFoundError(blobId);
  return { blobId, size, url: await getUrl(ctx, key, LIMITS.artifactUploadUrlSeconds) };
}
