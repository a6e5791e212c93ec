// PostToConnection's deadline: a subscriber that never answers holds the write path one timeout, not one per attempt.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { connectionsApi } from '../../shared/push/connectionsApi.ts';

describe('connectionsApi', () => {
  it('gives up on an endpoint that never answers after one timeout, without a second attempt', async () => {
    // Prepare: a server that reads each request and never answers it.
    const requests: IncomingMessage[] = [];
    const server = createServer((request) => {
      requests.push(request);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    const api = connectionsApi({
      endpoint: `http://127.0.0.1:${port}/local`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      timeoutMs: 300,
    });

    try {
      // Act
      const started = performance.now();
      const outcome = await api.post('conn-1', new TextEncoder().encode('{}')).catch((e: Error) => e);
      const tookMs = performance.now() - started;

      // Assess
      assert.ok(outcome instanceof Error, 'the post fails');
      assert.equal((outcome as Error).name, 'TimeoutError');
      assert.ok(tookMs < 550, `one deadline for both attempts (took ${Math.round(tookMs)} ms)`);
      assert.equal(requests.length, 1, 'a timed-out post is not sent again');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
