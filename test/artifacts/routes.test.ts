// The artifact and blob routes on the real local stack: presigned parts into fauxqs's S3, records, roles, bad input.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { completeWithUrl, uploadStream } from '../../shared/artifacts/transfer.ts';
import type {
  ArtifactList,
  ArtifactPartsResponse,
  CommandBlobResponse,
  CreateBlobResponse,
  StartArtifactResponse,
} from '../../shared/artifacts/wire.ts';
import * as LIMITS from '../../shared/limits.ts';
import { expectStatus } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';

const t = commandsFixture(useStack);

async function* chunksOf(bytes: Buffer, size = 1024 * 1024): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** A worker's artifact of its claimed command, uploaded through the routes as the worker does it. */
async function uploadArtifact(worker: TestWorker, commandId: string, name: string, bytes: Buffer) {
  const { call } = t.h;
  const started = expectStatus(
    await call<StartArtifactResponse>(worker.token, 'POST', `/v1/commands/${commandId}/artifacts`, { name }),
    201,
    'start artifact',
  );
  const uploaded = await uploadStream(
    chunksOf(bytes),
    {
      partBytes: started.partBytes,
      urls: async (first, count) =>
        expectStatus(
          await call<ArtifactPartsResponse>(
            worker.token,
            'POST',
            `/v1/commands/${commandId}/artifacts/${encodeURIComponent(name)}/parts`,
            { uploadId: started.uploadId, first, count },
          ),
          200,
          'parts',
        ).parts,
    },
    { expectedBytes: bytes.length },
  );
  return { started, uploaded };
}

describe('artifact routes', () => {
  it('stores a worker upload of two parts and redirects a client to exactly those bytes', async () => {
    // Prepare
    const { h, stack } = t;
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const bytes = randomBytes(LIMITS.artifactPartBytes + 12345);

    // Act
    const { started, uploaded } = await uploadArtifact(worker, commandId, 'out.bin', bytes);
    const finished = await h.call(worker.token, 'PUT', `/v1/commands/${commandId}/artifacts/out.bin`, {
      uploadId: started.uploadId,
      parts: uploaded.parts,
      size: uploaded.size,
      sha256: uploaded.sha256,
    });
    const list = await h.call<ArtifactList>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/artifacts`,
    );
    const redirect = await fetch(`${stack.apiUrl}/v1/commands/${commandId}/artifacts/out.bin`, {
      headers: { authorization: `Bearer ${stack.tokens.client}` },
      redirect: 'manual',
    });
    const location = redirect.headers.get('location') ?? '';
    const got = Buffer.from(await (await fetch(location)).arrayBuffer());

    // Assess
    expectStatus(finished, 200, 'finish');
    assert.equal(uploaded.parts.length, 2);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    assert.deepEqual(
      expectStatus(list, 200, 'list').artifacts.map(({ name, size, sha256: sum }) => ({ name, size, sum })),
      [{ name: 'out.bin', size: bytes.length, sum: sha256 }],
    );
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('x-bbs-sha256'), sha256);
    assert.ok(got.equals(bytes), 'the redirect serves the uploaded bytes');
  });

  it('refuses a finish whose size is not what S3 stored, and records nothing', async () => {
    // Prepare
    const { h, stack } = t;
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const { started, uploaded } = await uploadArtifact(worker, commandId, 'short.bin', randomBytes(1000));

    // Act
    const finished = await h.call(worker.token, 'PUT', `/v1/commands/${commandId}/artifacts/short.bin`, {
      uploadId: started.uploadId,
      parts: uploaded.parts,
      size: 1001,
      sha256: uploaded.sha256,
    });
    const list = await h.call<ArtifactList>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/artifacts`,
    );

    // Assess
    assert.equal(finished.status, 409);
    assert.equal(finished.body.code, 'artifact_incomplete');
    assert.deepEqual(expectStatus(list, 200, 'list').artifacts, []);
  });

  it("refuses another worker's command, a client token on worker routes and a worker token on client routes", async () => {
    // Prepare
    const { h, stack } = t;
    const owner = await h.onlineWorker();
    const other = await h.onlineWorker();
    const commandId = await h.claimed(owner);
    const path = `/v1/commands/${commandId}/artifacts`;

    // Act
    const otherWorker = await h.call(other.token, 'POST', path, { name: 'x' });
    const otherBlob = await h.call(other.token, 'GET', `/v1/commands/${commandId}/blob`);
    const clientOnWorker = await h.call(stack.tokens.client, 'POST', path, { name: 'x' });
    const workerOnClient = await h.call(owner.token, 'GET', path);
    const workerBlob = await h.call(owner.token, 'POST', '/v1/blobs', { size: 1 });

    // Assess
    assert.deepEqual(
      [otherWorker.status, otherBlob.status, clientOnWorker.status, workerOnClient.status, workerBlob.status],
      [403, 403, 403, 403, 403],
    );
  });

  it('refuses names that leave their place: .., a slash, a control character', async () => {
    // Prepare
    const { h, stack } = t;
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);

    // Act
    const answers = await Promise.all(
      ['..', 'a/b', 'a\\b', 'a\nb', ''].map((name) =>
        h.call(worker.token, 'POST', `/v1/commands/${commandId}/artifacts`, { name }),
      ),
    );
    const read = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/artifacts/..%2F..%2Fx`);

    // Assess
    assert.deepEqual(
      answers.map((answer) => answer.status),
      [400, 400, 400, 400, 400],
    );
    assert.equal(read.status, 400);
  });

  it("uploads a client's blob and hands the worker of its downloadFile a URL of exactly those bytes", async () => {
    // Prepare
    const { h, stack } = t;
    const worker = await h.onlineWorker(['downloadFile']);
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    const blob = expectStatus(
      await h.call<CreateBlobResponse>(stack.tokens.client, 'POST', '/v1/blobs', { size: bytes.length }),
      201,
      'blob',
    );
    const uploaded = await uploadStream(chunksOf(bytes), {
      partBytes: blob.upload.partBytes,
      urls: async (first, count) => blob.upload.parts.slice(first - 1, first - 1 + count),
    });
    await completeWithUrl(blob.upload.complete, uploaded.parts);
    const commandId = await h.claimed(worker, {
      command: 'downloadFile',
      args: { blob: blob.blobId, workerdest: 'x.bin', workdir: '.' },
    });

    // Act
    const answer = await h.call<CommandBlobResponse>(worker.token, 'GET', `/v1/commands/${commandId}/blob`);
    const got = Buffer.from(await (await fetch(expectStatus(answer, 200, 'blob').url)).arrayBuffer());

    // Assess
    assert.equal(answer.body.size, bytes.length);
    assert.ok(got.equals(bytes));
  });

  it('answers blob_not_found for a downloadFile of a blob never completed', async () => {
    // Prepare
    const { h } = t;
    const worker = await h.onlineWorker(['downloadFile']);
    const commandId = await h.claimed(worker, {
      command: 'downloadFile',
      args: { blob: 'f'.repeat(32), workerdest: 'x.bin', workdir: '.' },
    });

    // Act
    const answer = await h.call(worker.token, 'GET', `/v1/commands/${commandId}/blob`);

    // Assess
    assert.equal(answer.status, 404);
    assert.equal(answer.body.code, 'blob_not_found');
  });
});
