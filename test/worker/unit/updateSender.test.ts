import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CommandUpdate } from '../../../shared/commands/wire.ts';
import { UpdateSender } from '../../../worker/updateSender.ts';
import type { UpdateSenderOptions } from '../../../worker/updateSender.ts';

/**
 * The sender's protocol logic against a small in-test HTTP server that keeps the server's rule (store
 * from acked + 1 only, else 409 {acked}). Behaviour against the real API is in test/worker/*.test.ts.
 */
interface FakeState {
  stored: CommandUpdate[];
  requests: number;
  inFlight: number;
  maxInFlight: number;
  /** Status codes to answer before handling normally, one per request. */
  failures: number[];
  /** Put this interrupt into every ack. */
  interrupt?: string;
  emptyBatches: number;
  completes: unknown[];
  gzipped: number;
}

let state: FakeState;
let apiUrl: string;
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    state.requests++;
    state.inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    let raw = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') {
      raw = gunzipSync(raw);
      state.gzipped++;
    }
    const body = JSON.parse(raw.toString('utf8')) as {
      updates?: [CommandUpdate, number][];
      lastSeq?: number;
    };
    const answer = (status: number, json: unknown): void => {
      setTimeout(() => {
        state.inFlight--;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      }, 5);
    };
    const acked = state.stored.length - 1;
    const failure = state.failures.shift();
    if (failure !== undefined) return answer(failure, { message: 'injected' });
    if (req.url!.endsWith('/complete')) {
      state.completes.push(body);
      return body.lastSeq! > acked ? answer(409, { acked }) : answer(200, {});
    }
    const updates = body.updates!;
    if (updates.length === 0) state.emptyBatches++;
    const fresh = updates.filter(([, seq]) => seq > acked);
    if (fresh.length > 0 && fresh[0]![1] !== acked + 1) return answer(409, { acked });
    for (const [update] of fresh) state.stored.push(update);
    answer(200, {
      acked: state.stored.length - 1,
      ...(state.interrupt ? { interrupt: { why: state.interrupt } } : {}),
    });
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  state = {
    stored: [],
    requests: 0,
    inFlight: 0,
    maxInFlight: 0,
    failures: [],
    emptyBatches: 0,
    completes: [],
    gzipped: 0,
  };
});

function sender(overrides: Partial<UpdateSenderOptions> = {}): UpdateSender {
  return new UpdateSender({
    connection: { apiUrl, token: 't' },
    commandId: 'c1',
    bufferBytes: 64 * 1024,
    bufferMs: 20,
    heartbeatMs: 60_000,
    giveUpMs: 5_000,
    onInterrupt: () => undefined,
    log: () => undefined,
    retryMs: 10,
    ...overrides,
  });
}

describe('UpdateSender', () => {
  it('batches buffered output into few requests, merges a stream and completes with lastSeq', async () => {
    // Prepare
    const s = sender();

    // Act
    for (let i = 0; i < 100; i++) s.push({ stdout: `${i}\n` });
    s.push({ rc: 0 });
    await s.finish();

    // Assess
    assert.equal(
      state.stored.map((u) => u.stdout ?? '').join(''),
      Array.from({ length: 100 }, (_, i) => `${i}\n`).join(''),
    );
    assert.deepEqual(state.stored.at(-1), { rc: 0 });
    assert.equal(state.stored.length, 2);
    assert.deepEqual(state.completes, [{ lastSeq: 1 }]);
    assert.ok(state.requests <= 3);
  });

  it('keeps one request in flight and resends after 5xx answers without gaps or duplicates', async () => {
    // Prepare
    state.failures = [503, 500, 502];
    const s = sender({ bufferBytes: 10 });

    // Act
    for (let i = 0; i < 50; i++) {
      s.push({ stdout: `out${i}\n` });
      s.push({ stderr: `err${i}\n` });
      if (i % 10 === 0) await sleep(3);
    }
    await s.finish();

    // Assess
    assert.equal(state.maxInFlight, 1);
    const text = state.stored.map((u) => u.stdout ?? u.stderr ?? '').join('');
    assert.equal(text, Array.from({ length: 50 }, (_, i) => `out${i}\nerr${i}\n`).join(''));
  });

  it('resends from acked + 1 when the server answers 409 {acked}', async () => {
    // Prepare: the server already holds seq 0 from an earlier answer we never saw.
    const s = sender();
    s.push({ header: 'h\n' });
    await sleep(60);
    state.stored = [{ header: 'h\n' }];

    // Act
    s.push({ stdout: 'x' });
    await s.finish();

    // Assess
    assert.deepEqual(state.stored, [{ header: 'h\n' }, { stdout: 'x' }]);
  });

  it('calls onInterrupt once when acks carry an interrupt', async () => {
    // Prepare
    const whys: string[] = [];
    state.interrupt = 'stop it';
    const s = sender({ onInterrupt: (why) => whys.push(why) });

    // Act
    s.push({ stdout: 'a' });
    await sleep(60);
    s.push({ stdout: 'b' });
    await s.finish();

    // Assess
    assert.deepEqual(whys, ['stop it']);
  });

  it('sends an empty batch as a heartbeat while the command is quiet', async () => {
    // Prepare
    const s = sender({ heartbeatMs: 30 });

    // Act
    await sleep(150);
    await s.finish();

    // Assess
    assert.ok(state.emptyBatches >= 2, `${state.emptyBatches} heartbeats`);
  });

  it('gzips large batches', async () => {
    // Act
    const s = sender();
    s.push({ stdout: 'z'.repeat(100_000) });
    await s.finish();

    // Assess
    assert.ok(state.gzipped >= 1);
    assert.equal(state.stored.map((u) => u.stdout ?? '').join(''), 'z'.repeat(100_000));
  });

  it('gives up and interrupts when the server refuses updates for good', async () => {
    // Prepare
    state.failures = [403];
    const whys: string[] = [];
    const s = sender({ onInterrupt: (why) => whys.push(why) });

    // Act
    s.push({ stdout: 'a' });

    // Assess
    await assert.rejects(s.finish(), /updates refused/);
    assert.equal(whys.length, 1);
  });
});
