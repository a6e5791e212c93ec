// Owns SHA-256 and HMAC-SHA256 on node:crypto in the shape @smithy/signature-v4 takes (what the SDK's @smithy/hash-node does).
import { createHash, createHmac } from 'node:crypto';
import type { Hash, Hmac } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

/** node:crypto as the signer's hash and HMAC, for the hand-signed requests (shared/artifacts/s3.ts, shared/push/connectionsApi.ts). */
export class Sha256 {
  private hash: Hash | Hmac;
  private readonly secret?: string | Uint8Array;
  constructor(secret?: SourceData) {
    if (secret !== undefined) this.secret = bytesOf(secret);
    this.hash = this.make();
  }
  private make(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', this.secret);
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
  reset(): void {
    this.hash = this.make();
  }
}
