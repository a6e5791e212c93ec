// The errors of artifacts and blobs, each with its stable code and body fields (docs/errors.md).
import { BuildbotError, ConflictError, NotFoundError } from '../errors.ts';

/** No blob with this id: never uploaded, not completed, or expired with the bucket's lifecycle. */
export class BlobNotFoundError extends NotFoundError {
  static override readonly code = 'blob_not_found';
  static override readonly bodyFields = ['blobId'];

  readonly blobId: string;

  constructor(blobId: string) {
    super(`no blob ${blobId} (never completed, or expired)`, { details: { blobId } });
    this.blobId = blobId;
  }
}

/** The command has no artifact of this name (none stored, or it expired). */
export class ArtifactNotFoundError extends NotFoundError {
  static override readonly code = 'artifact_not_found';
  static override readonly bodyFields = ['commandId', 'name'];

  constructor(commandId: string, name: string) {
    super(`command ${commandId} has no artifact ${name}`, { details: { commandId, name } });
  }
}

/** The artifact is already recorded, or the command holds LIMITS.artifactsPerCommand of them. */
export class ArtifactConflictError extends ConflictError {
  static override readonly code = 'artifact_conflict';
  static override readonly bodyFields = ['commandId', 'name', 'limit'];

  constructor(message: string, details: { commandId: string; name: string; limit?: number }) {
    super(message, { details });
  }
}

/** The stored object is not what the worker said it uploaded (its size differs, or a part is missing). */
export class ArtifactIncompleteError extends ConflictError {
  static override readonly code = 'artifact_incomplete';
  static override readonly bodyFields = ['commandId', 'name', 'size', 'stored'];

  constructor(
    commandId: string,
    name: string,
    size: number,
    stored: number | undefined,
    options: ErrorOptions = {},
  ) {
    super(`artifact ${name} of command ${commandId}: said ${size} bytes, stored ${stored ?? 'nothing'}`, {
      ...options,
      details: { commandId, name, size, stored },
    });
  }
}

/**
 * What was downloaded is not what the worker uploaded: its sha256 (or size) differs from the record's. The
 * client removes the partial file. In-process only (a client error, never an HTTP answer).
 */
export class ChecksumMismatchError extends BuildbotError {
  static override readonly code = 'checksum_mismatch';
  static override readonly httpStatus = undefined;

  readonly expected: string;
  readonly actual: string;

  constructor(what: string, expected: string, actual: string) {
    super(`${what}: sha256 ${actual} where ${expected} was stored; the download is refused`, {
      details: { expected, actual },
    });
    this.expected = expected;
    this.actual = actual;
  }
}

/** S3 (through a presigned URL) refused or failed a transfer: an expired URL, a missing object, a fault. */
export class TransferFailedError extends BuildbotError {
  static override readonly code = 'transfer_failed';
  static override readonly httpStatus = undefined;

  readonly status: number;
  /** S3's error `<Code>` (AccessDenied for an expired URL, NoSuchUpload, ...), when the answer had one. */
  readonly s3Code?: string;

  constructor(what: string, status: number, body: string) {
    const s3Code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
    super(`${what}: S3 answered ${status}${s3Code ? ` ${s3Code}` : body ? `: ${body.slice(0, 300)}` : ''}`, {
      details: { status, s3Code },
    });
    this.status = status;
    if (s3Code) this.s3Code = s3Code;
  }
}
