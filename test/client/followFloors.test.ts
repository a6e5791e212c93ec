// Followers keep their floors: a quiet command is polled at most every 250 ms, a moving one with 50 ms between pages.
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CommandsClient, FOLLOW_FLOORS } from '../../shared/client/CommandsClient.ts';
import { commandsFixture } from '../commands/helpers.ts';
import { useStack } from '../support/stack.ts';

const t = commandsFixture(useStack);

/** A loopback proxy before the stack's API that notes when each request arrived: what the followers send. */
let proxy: Server;
let proxyUrl: string;
const arrivals: { path: string; at: number }[] = [];

before(async () => {
  proxy = createServer((req, res) => {
    arrivals.push({ path: req.url ?? '', at: performance.now() });
    const target = new URL(req.url ?? '/', t.stack.apiUrl);
    const upstream = request(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((listening) => proxy.listen(0, '127.0.0.1', () => listening()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
after(async () => {
  proxy.closeAllConnections();
  await new Promise((closed) => proxy.close(closed));
});

/** Follows for `ms`, then aborts; the gaps between the follower's requests. */
async function follow(
  api: CommandsClient,
  commandId: string,
  ms: number,
  kind: 'log' | 'updates',
): Promise<number[]> {
  arrivals.length = 0;
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('enough')), ms);
  const pages =
    kind === 'log'
      ? api.followLog(commandId, 'stdio', { signal: controller.signal })
      : api.followUpdates(commandId, { signal: controller.signal });
  await assert.rejects(async () => {
    for await (const _ of pages);
  });
  const times = arrivals.map((arrival) => arrival.at);
  return times.slice(1).map((at, i) => at - times[i]!);
}

describe('follower floors', () => {
  it('polls a quiet command at most every 250 ms, even when asked for less', async () => {
    // Prepare: a claimed command that writes nothing
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const api = new CommandsClient({
      apiUrl: proxyUrl,
      token: t.stack.tokens.client,
      poll: { minMs: 1, maxMs: 1 },
      // The polling fallback's floors: push is off here (test/push/ covers push-first following).
      pushUrl: false,
    });
    // Act
    const logGaps = await follow(api, commandId, 1600, 'log');
    const updateGaps = await follow(api, commandId, 1600, 'updates');
    // Assess: timers fire late, never early (a few ms of slack for the proxy's own clock)
    for (const gaps of [logGaps, updateGaps]) {
      assert.ok(gaps.length >= 3, `${gaps.length + 1} polls in 1.6 s`);
      assert.ok(Math.min(...gaps) >= FOLLOW_FLOORS.quietMs - 5, `gaps ${gaps.map(Math.round).join(', ')} ms`);
    }
  });

  it('leaves at least 50 ms between the pages of a command that keeps moving', async () => {
    // Prepare: 40 updates acked one request at a time while the follower reads
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const api = new CommandsClient({ apiUrl: proxyUrl, token: t.stack.tokens.client, pushUrl: false });
    let seq = 0;
    const writes: Promise<unknown>[] = [];
    const writing = setInterval(() => {
      writes.push(
        t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
          updates: [[{ stdout: `${seq}\n` }, seq++]],
        }),
      );
    }, 10);
    // Act
    let gaps: number[];
    try {
      gaps = await follow(api, commandId, 1000, 'updates');
    } finally {
      clearInterval(writing);
      await Promise.allSettled(writes);
    }
    // Assess
    assert.ok(gaps.length >= 2, `${gaps.length + 1} polls`);
    assert.ok(
      Math.min(...gaps) >= FOLLOW_FLOORS.afterProgressMs - 5,
      `gaps ${gaps.map(Math.round).join(', ')} ms`,
    );
  });
});
