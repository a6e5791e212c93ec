// Owns the artifacts' keys: S3 object keys in the artifacts bucket, and the artifact items of the commands table.
import type { ItemKey } from '../commands/keys.ts';

/**
 * Access patterns:
 *   1. Upload a blob a client made (POST /v1/blobs)          S3 PUT (parts)  blobs/<blobId>
 *   2. Read a blob for downloadFile (the worker)             S3 GET          blobs/<blobId>
 *   3. Store an artifact of a command (uploadFile, ...)      S3 PUT (parts)  artifacts/<commandId>/<name>
 *   4. Record an artifact once, beside its command           PutItem  pk=CMD#<id>  sk=ART#<name>, attribute_not_exists
 *   5. List a command's artifacts                            Query    pk=CMD#<id>  sk begins_with ART#
 *   6. Read one artifact (for its redirect)                  GetItem  pk=CMD#<id>  sk=ART#<name>
 * The items sit beside the command record, not in it: the record stays under 1 KB (every transition rewrites
 * it, billed per KB), and an artifact item carries no `worker` or `dueShard`, so it is in no index.
 */
export const ARTIFACT_SK_PREFIX = 'ART#';

export function blobObjectKey(blobId: string): string {
  return `blobs/${blobId}`;
}

export function artifactObjectKey(commandId: string, name: string): string {
  return `artifacts/${commandId}/${name}`;
}

/** Pattern 4 and 6: the artifact item. */
export function artifactItemKey(commandId: string, name: string): ItemKey {
  return { pk: `CMD#${commandId}`, sk: `${ARTIFACT_SK_PREFIX}${name}` };
}
