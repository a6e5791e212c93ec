// Owns the artifacts' S3 requests: each presigned with the function's role (SigV4), sent by the API or handed out.
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../aws/sha256.ts';
import type { ArtifactsContext } from './context.ts';
import { TransferFailedError } from './errors.ts';
import { completeXml } from './transfer.ts';
import type { UploadedPart } from './transfer.ts';

/**
 * Only the API (its role) signs: the worker and the client hold no AWS credentials, just URLs good for
 * LIMITS.artifactUploadUrlSeconds, each for one part of one object. The bytes go from them to S3 directly.
 *
 * Every S3 request here is a presigned URL (SigV4 query signing, the SDK's own signer), the API's own calls
 * included (it fetches the URL it signed): @aws-sdk/client-s3 and its presigner cost this function's bundle
 * 180 KiB (452 KiB, against a budget of 300), for five requests whose answers need no XML parser. Each
 * operation names its IAM action (`iamAction`), which test/infra/iam.test.ts holds the role to.
 */
const OPERATIONS = {
  createUpload: { iamAction: 's3:PutObject', method: 'POST' },
  uploadPart: { iamAction: 's3:PutObject', method: 'PUT' },
  completeUpload: { iamAction: 's3:PutObject', method: 'POST' },
  getObject: { iamAction: 's3:GetObject', method: 'GET' },
  headObject: { iamAction: 's3:GetObject', method: 'HEAD' },
  putObject: { iamAction: 's3:PutObject', method: 'PUT' },
} as const;
type Operation = keyof typeof OPERATIONS;

/** The API's own requests are signed for this long: they are sent at once. */
const OWN_REQUEST_SECONDS = 60;

const signers = new WeakMap<ArtifactsContext['credentials'], SignatureV4>();

function signerOf(ctx: ArtifactsContext): SignatureV4 {
  let signer = signers.get(ctx.credentials);
  if (!signer) {
    signer = new SignatureV4({
      credentials: ctx.credentials,
      region: ctx.region,
      service: 's3',
      sha256: Sha256,
      // The path is escaped once, here (objectUrl): S3 signs it as sent.
      uriEscapePath: false,
      applyChecksum: false,
    });
    signers.set(ctx.credentials, signer);
  }
  return signer;
}

/** RFC 3986 escaping, as SigV4 canonicalises: encodeURIComponent leaves !'()* bare. */
function escape(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Path-style on an endpoint (the local emulator), virtual-hosted on AWS. */
function objectUrl(ctx: ArtifactsContext, key: string): URL {
  const path = key.split('/').map(escape).join('/');
  return ctx.endpoint
    ? new URL(`${ctx.endpoint.replace(/\/+$/, '')}/${escape(ctx.bucket)}/${path}`)
    : new URL(`https://${ctx.bucket}.s3.${ctx.region}.amazonaws.com/${path}`);
}

async function presign(
  ctx: ArtifactsContext,
  operation: Operation,
  key: string,
  query: Record<string, string>,
  seconds: number,
  signedHeaders: Record<string, string> = {},
): Promise<string> {
  const url = objectUrl(ctx, key);
  const signed = await signerOf(ctx).presign(
    {
      method: OPERATIONS[operation].method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      // The body is not signed (a part's bytes come from the worker): S3's UNSIGNED-PAYLOAD.
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', ...signedHeaders },
    },
    // Headers the caller must send as signed (a checksum S3 then verifies) stay headers, not query parameters.
    { expiresIn: seconds, unhoistableHeaders: new Set(Object.keys(signedHeaders)) },
  );
  const search = Object.entries(signed.query ?? {})
    .flatMap(([name, value]) =>
      value === null
        ? []
        : (Array.isArray(value) ? value : [value]).map((v) => `${escape(name)}=${escape(v)}`),
    )
    .join('&');
  return `${url.origin}${url.pathname}?${search}`;
}

/** An S3 answer that is not 2xx, as TransferFailedError (its `<Code>`, when it has one, leads the message). */
async function refused(what: string, response: Response): Promise<never> {
  throw new TransferFailedError(what, response.status, await response.text().catch(() => ''));
}

export async function createUpload(ctx: ArtifactsContext, key: string): Promise<string> {
  const url = await presign(ctx, 'createUpload', key, { uploads: '' }, OWN_REQUEST_SECONDS);
  const response = await fetch(url, { method: 'POST' });
  if (!response.ok) return refused(`CreateMultipartUpload of ${key}`, response);
  const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1];
  if (!uploadId)
    throw new TransferFailedError(`CreateMultipartUpload of ${key}`, response.status, 'no UploadId');
  return uploadId;
}

/** Presigned UploadPart URLs for parts first..first+count-1. */
export function partUrls(
  ctx: ArtifactsContext,
  key: string,
  uploadId: string,
  first: number,
  count: number,
  seconds: number,
): Promise<{ partNumber: number; url: string }[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => ({
      partNumber: first + i,
      url: await presign(ctx, 'uploadPart', key, { partNumber: String(first + i), uploadId }, seconds),
    })),
  );
}

/** A presigned CompleteMultipartUpload: the client POSTs the parts' XML to it (a blob ends without the API). */
export function completeUrl(
  ctx: ArtifactsContext,
  key: string,
  uploadId: string,
  seconds: number,
): Promise<string> {
  return presign(ctx, 'completeUpload', key, { uploadId }, seconds);
}

/**
 * Ends a multipart upload. S3 may answer 200 and still fail (an `<Error>` body, sent late): both are
 * TransferFailedError, whose `s3Code` says why (NoSuchUpload, InvalidPart, ...).
 */
export async function completeUpload(
  ctx: ArtifactsContext,
  key: string,
  uploadId: string,
  parts: UploadedPart[],
): Promise<void> {
  const url = await completeUrl(ctx, key, uploadId, OWN_REQUEST_SECONDS);
  const response = await fetch(url, { method: 'POST', body: completeXml(parts) });
  const text = await response.text();
  if (!response.ok || text.includes('<Error>'))
    throw new TransferFailedError(`CompleteMultipartUpload of ${key}`, response.status, text);
}

/** The object's size, or undefined when there is none (never uploaded, not completed, expired). */
export async function objectSize(ctx: ArtifactsContext, key: string): Promise<number | undefined> {
  const url = await presign(ctx, 'headObject', key, {}, OWN_REQUEST_SECONDS);
  const response = await fetch(url, { method: 'HEAD' });
  // A missing key is 404, or 403 where the role has no s3:ListBucket (ours has none: it signs only object URLs).
  if (response.status === 404 || response.status === 403) return undefined;
  if (!response.ok) return refused(`HeadObject of ${key}`, response);
  return Number(response.headers.get('content-length') ?? 0);
}

/**
 * A presigned single PUT of the object whose bytes have this sha256 (base64) and length: both are signed
 * headers, which the uploader must send as given. S3 refuses a body whose SHA-256 is not the header's (the
 * local emulator checks neither: there the API's HEAD of the size is the check).
 */
export function putUrl(
  ctx: ArtifactsContext,
  key: string,
  seconds: number,
  headers: { 'x-amz-checksum-sha256': string; 'content-length': string },
): Promise<string> {
  return presign(ctx, 'putObject', key, {}, seconds, headers);
}

/** A presigned GET of the object, good for `seconds`. */
export function getUrl(ctx: ArtifactsContext, key: string, seconds: number): Promise<string> {
  return presign(ctx, 'getObject', key, {}, seconds);
}
