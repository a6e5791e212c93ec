// uploadStream's paging of part URLs and its maxsize stop, against a plain HTTP endpoint that stores what it is sent.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TransferFailedError } from '../../shared/artifacts/errors.ts';
import { downloadStream, uploadStream } from '../../shared/artifacts/transfer.ts';

/** Stores each PUT body by path and answers an ETag; any path under /refuse answers 403 as an expired URL would. */
const stored = new Map<string, Buffer>();
const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.url?.startsWith('/refuse')) {
      response
        .writeHead(403)
        .end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    stored.set(request.url ?? '', Buffer.concat(chunks));
    response.writeHead(200, { etag: `"${request.url}"` }).end();
  });
});
let base = '';

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('uploadStream', () => {
  it('asks for part URLs a page at a time as it needs them, and sends every byte once, in order', async () => {
    // Prepare: 40 parts of 10 bytes, more than one page of URLs.
    const bytes = randomBytes(395);
    const asked: [number, number][] = [];
    const target = {
      partBytes: 10,
      urls: async (first: number, count: number) => {
        asked.push([first, count]);
        return Array.from({ length: count }, (_, i) => ({
          partNumber: first + i,
          url: `${base}/p/${first + i}`,
        }));
      },
    };

    // Act
    const uploaded = await uploadStream([bytes.subarray(0, 123), bytes.subarray(123)], target);

    // Assess
    assert.deepEqual(asked, [
      [1, 32],
      [33, 32],
    ]);
    assert.equal(uploaded.parts.length, 40);
    const joined = Buffer.concat(uploaded.parts.map((part) => stored.get(`/p/${part.partNumber}`)!));
    assert.ok(joined.equals(bytes));
    assert.equal(uploaded.sha256, createHash('sha256').update(bytes).digest('hex'));
  });

  it('stops once more than maxBytes came, completing nothing', async () => {
    // Act
    const uploaded = await uploadStream(
      [Buffer.alloc(30), Buffer.alloc(30)],
      {
        partBytes: 10,
        urls: async (first, count) =>
          Array.from({ length: count }, (_, i) => ({ partNumber: first + i, url: `${base}/m/${first + i}` })),
      },
      { maxBytes: 50 },
    );

    // Assess
    assert.equal(uploaded.exceeded, true);
    assert.deepEqual(uploaded.parts, []);
  });

  it('fails with TransferFailedError naming S3’s code when a URL is refused (an expired one: 403 AccessDenied)', async () => {
    // Act, Assess
    await assert.rejects(
      uploadStream([Buffer.alloc(5)], {
        partBytes: 10,
        urls: async () => [{ partNumber: 1, url: `${base}/refuse/1` }],
      }),
      (error: unknown) =>
        error instanceof TransferFailedError && error.status === 403 && error.s3Code === 'AccessDenied',
    );
    await assert.rejects(
      downloadStream(`${base}/refuse/get`),
      (error: unknown) => error instanceof TransferFailedError && error.s3Code === 'AccessDenied',
    );
  });
});
