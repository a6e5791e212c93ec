import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { apiCaller, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { spawnWorker, workerStackFixture } from './helpers.ts';

/** A claim whose answer is lost on the way back: the worker that made it recovers it, and nothing runs twice. */
const t = workerStackFixture(useStack);

interface LossyProxy {
  url: string;
  /** Claims (POST .../start) that reached the API through the proxy. */
  claims: number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of the API that passes every request on, and for the first claim lets the API answer,
 * then cuts the worker's connection without passing the answer back: the claim landed, its answer was lost.
 */
async function answerLosingProxy(apiUrl: string): Promise<LossyProxy> {
  const target = new URL(apiUrl);
  const proxy: LossyProxy = { url: '', claims: 0, close: () => Promise.resolve() };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const isClaim = req.method === 'POST' && /\/start$/.test(req.url ?? '');
      const loseThisAnswer = isClaim && proxy.claims++ === 0;
      const forward = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: `${target.pathname.replace(/\/$/, '')}${req.url}`,
          headers: { ...req.headers, host: target.host },
        },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', () => {
            if (loseThisAnswer) {
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      forward.on('error', () => req.socket.destroy());
      forward.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${target.pathname}`;
  proxy.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

describe('a lost claim answer', () => {
  it('runs the command once when the answer to its claim is lost', async () => {
    // Prepare
    const proxy = await answerLosingProxy(t.stack.apiUrl);
    const worker = await registerWorker(t.stack, 'lostclaim');
    const proc = await spawnWorker({ ...t.stack, apiUrl: proxy.url }, worker);
    t.started.push(proc);

    try {
      // Act
      const id = await startCommand(
        t.stack,
        worker.name,
        'shell',
        { command: 'echo ran >> count.txt', workdir: '.', logEnviron: false },
        { timeouts: { heartbeat: 5 } },
      );
      const view = await waitForCommand(t.stack, id, undefined, 30_000);

      // Assess
      assert.ok(proxy.claims >= 2, `claims: ${proxy.claims}`);
      assert.equal(view.failure, undefined, JSON.stringify(view.failure));
      assert.equal(view.results, RESULTS.SUCCESS);
      assert.equal(await readFile(path.join(proc.basedir, 'count.txt'), 'utf8'), 'ran\n');
    } finally {
      await proxy.close();
    }
  });

  it('answers the same claim to the same claim token, and 409 to any other claim', async () => {
    // Prepare: the worker is online (a heartbeat) but nothing polls its queue: the test claims by hand.
    const worker = await registerWorker(t.stack, 'claimtoken');
    const call = apiCaller(t.stack);
    const beat = await call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
      commands: ['shell'],
    });
    assert.equal(beat.status, 200, beat.text);
    const id = await startCommand(t.stack, worker.name, 'shell', { command: 'true', workdir: '.' });
    const claim = (body?: unknown) => call(worker.token, 'POST', `/v1/commands/${id}/start`, body);

    // Act
    const first = await claim({ claimToken: 'first-claim-token-0001' });
    const again = await claim({ claimToken: 'first-claim-token-0001' });
    const other = await claim({ claimToken: 'other-claim-token-0002' });
    const none = await claim();
    const bad = await claim({ claimToken: 'short' });

    // Assess
    assert.equal(first.status, 200, first.text);
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, first.body);
    assert.equal(other.status, 409, other.text);
    assert.equal(none.status, 409, none.text);
    assert.equal(bad.status, 400, bad.text);
  });
});
