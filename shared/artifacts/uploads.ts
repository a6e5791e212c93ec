// Owns a worker's upload of an artifact of its running command: start, part URLs, finish (record) — and the reads.
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { CommandStateError } from '../commands/errors.ts';
import { loadCommand, requireOwner } from '../commands/items.ts';
import { COMMAND_STATUS } from '../commands/types.ts';
import * as LIMITS from '../limits.ts';
import type { ArtifactsContext } from './context.ts';
import {
  ArtifactConflictError,
  ArtifactIncompleteError,
  ArtifactNotFoundError,
  TransferFailedError,
} from './errors.ts';
import { ARTIFACT_SK_PREFIX, artifactItemKey, artifactObjectKey } from './keys.ts';
import { completeUpload, createUpload, getUrl, objectSize, partUrls } from './s3.ts';
import type {
  ArtifactList,
  ArtifactPartsResponse,
  ArtifactView,
  FinishArtifactRequest,
  StartArtifactResponse,
} from './wire.ts';

/**
 * A worker puts only into its own command's artifacts, and only while that command runs (the record says
 * both; a token bound to another worker is refused as the claim is). The bytes go to S3 through part URLs.
 * The artifact exists for clients once the worker finished it: the API ends the multipart upload, checks the
 * stored size, and records {name, size, sha256} in an item beside the command (keys.ts says why beside).
 */

interface ArtifactItem {
  pk: string;
  sk: string;
  name: string;
  size: number;
  sha256: string;
  createdAt: number;
  /** TTL (seconds): when the bucket's lifecycle removes the object. */
  expiresAt: number;
}

async function requireRunningOwn(ctx: ArtifactsContext, worker: string, commandId: string): Promise<void> {
  const item = await loadCommand(ctx.commands, commandId);
  requireOwner(item, worker);
  if (item.status !== COMMAND_STATUS.running)
    throw new CommandStateError(commandId, item.status, 'artifacts are stored only while their command runs');
}

async function artifactCount(ctx: ArtifactsContext, commandId: string): Promise<number> {
  const { pk } = artifactItemKey(commandId, '');
  const { Count } = await ctx.commands.db.send(
    new QueryCommand({
      TableName: ctx.commands.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :art)',
      ExpressionAttributeValues: { ':pk': pk, ':art': ARTIFACT_SK_PREFIX },
      Select: 'COUNT',
    }),
  );
  return Count ?? 0;
}

export async function startArtifact(
  ctx: ArtifactsContext,
  worker: string,
  commandId: string,
  name: string,
): Promise<StartArtifactResponse> {
  await requireRunningOwn(ctx, worker, commandId);
  // A count, then a put: two uploads of one command racing past the cap add one more at most (one worker
  // runs a command, and each of its transfer commands stores one artifact).
  if ((await artifactCount(ctx, commandId)) >= LIMITS.artifactsPerCommand)
    throw new ArtifactConflictError(
      `command ${commandId} holds ${LIMITS.artifactsPerCommand} artifacts already`,
      {
        commandId,
        name,
        limit: LIMITS.artifactsPerCommand,
      },
    );
  const uploadId = await createUpload(ctx, artifactObjectKey(commandId, name));
  return { name, uploadId, partBytes: LIMITS.artifactPartBytes };
}

export async function artifactParts(
  ctx: ArtifactsContext,
  worker: string,
  commandId: string,
  name: string,
  request: { uploadId: string; first: number; count: number },
): Promise<ArtifactPartsResponse> {
  await requireRunningOwn(ctx, worker, commandId);
  const count = Math.min(request.count, LIMITS.artifactMaxParts - request.first + 1);
  const key = artifactObjectKey(commandId, name);
  return {
    parts: await partUrls(
      ctx,
      key,
      request.uploadId,
      request.first,
      Math.max(count, 0),
      LIMITS.artifactUploadUrlSeconds,
    ),
  };
}

/** S3's answers to a CompleteMultipartUpload that does not match what was uploaded. */
const UPLOAD_REFUSALS = new Set(['NoSuchUpload', 'InvalidPart', 'InvalidPartOrder', 'EntityTooSmall']);

function alreadyRecorded(commandId: string, name: string): ArtifactConflictError {
  return new ArtifactConflictError(`command ${commandId} has an artifact ${name} already`, {
    commandId,
    name,
  });
}

function viewOf(item: ArtifactItem): ArtifactView {
  return {
    name: item.name,
    size: item.size,
    sha256: item.sha256,
    createdAt: new Date(item.createdAt).toISOString(),
  };
}

export async function finishArtifact(
  ctx: ArtifactsContext,
  worker: string,
  commandId: string,
  name: string,
  request: FinishArtifactRequest,
): Promise<ArtifactView> {
  await requireRunningOwn(ctx, worker, commandId);
  const recorded = await ctx.commands.db.send(
    new GetCommand({
      TableName: ctx.commands.tableName,
      Key: artifactItemKey(commandId, name),
      ConsistentRead: true,
    }),
  );
  if (recorded.Item) throw alreadyRecorded(commandId, name);
  const key = artifactObjectKey(commandId, name);
  try {
    await completeUpload(ctx, key, request.uploadId, request.parts);
  } catch (error) {
    // An upload id that is not this object's (or was completed), a part missing or not as listed: the
    // worker's claim does not hold, and nothing is recorded.
    if (error instanceof TransferFailedError && UPLOAD_REFUSALS.has(error.s3Code ?? ''))
      throw new ArtifactIncompleteError(commandId, name, request.size, undefined, { cause: error });
    throw error;
  }
  const stored = await objectSize(ctx, key);
  if (stored !== request.size) throw new ArtifactIncompleteError(commandId, name, request.size, stored);
  const now = Date.now();
  const item: ArtifactItem = {
    ...artifactItemKey(commandId, name),
    name,
    size: request.size,
    sha256: request.sha256,
    createdAt: now,
    expiresAt: Math.floor(now / 1000) + ctx.expiryDays * 24 * 3600,
  };
  try {
    // Recorded once: a second upload of the same name (a retried command's) does not replace what a client
    // may already have read.
    await ctx.commands.db.send(
      new PutCommand({
        TableName: ctx.commands.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    throw alreadyRecorded(commandId, name);
  }
  return viewOf(item);
}

/** GET /v1/commands/{id}/artifacts: the command's recorded artifacts (its record must exist). */
export async function listArtifacts(ctx: ArtifactsContext, commandId: string): Promise<ArtifactList> {
  await loadCommand(ctx.commands, commandId);
  const { pk } = artifactItemKey(commandId, '');
  const { Items = [] } = await ctx.commands.db.send(
    new QueryCommand({
      TableName: ctx.commands.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :art)',
      ExpressionAttributeValues: { ':pk': pk, ':art': ARTIFACT_SK_PREFIX },
      Limit: LIMITS.artifactsPerCommand + 1,
    }),
  );
  return { artifacts: (Items as ArtifactItem[]).map(viewOf) };
}

/** GET /v1/commands/{id}/artifacts/{name}: the artifact and a short-lived presigned GET of it. */
export async function artifactDownload(
  ctx: ArtifactsContext,
  commandId: string,
  name: string,
): Promise<{ artifact: ArtifactView; url: string }> {
  const { Item } = await ctx.commands.db.send(
    new GetCommand({ TableName: ctx.commands.tableName, Key: artifactItemKey(commandId, name) }),
  );
  if (!Item) throw new ArtifactNotFoundError(commandId, name);
  const url = await getUrl(ctx, artifactObjectKey(commandId, name), LIMITS.artifactDownloadUrlSeconds);
  return { artifact: viewOf(Item as ArtifactItem), url };
}
