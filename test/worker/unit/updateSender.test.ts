import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CommandUpdate } from '../../../shared/commands/wire.ts';
import { decodeTextBatch, isTextBatch } from '../../../shared/commands/textBatch.ts';
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
  /** Status codes to answer before handling normally, one per request (0: handle this one normally). */
  failures: number[];
  /** Put this interrupt into every ack. */
  interrupt?: string;
  emptyBatches: number;
  completes: unknown[];
  /** Requests that came brotli-compressed. */
  compressed: number;
  /** Bytes of each updates request as sent, and before compression. */
  wireBytes: number[];
  plainBytes: number[];
  /** Answer 413 to a body larger than this once inflated, as an edge with a lower limit does. */
  maxBodyBytes: number;
  /** Requests with a log object, each refused with 400. */
  objectsRefused: number;
  /** The 400 a log object gets instead of the older API's unknown-field refusal. */
  objectFault?: { code: string; path: string; message: string };
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
    const wire = raw.length;
    if (req.headers['content-encoding'] === 'br') {
      raw = brotliDecompressSync(raw);
      state.compressed++;
    }
    const body = (
      isTextBatch(req.headers['content-type']) ? decodeTextBatch(raw) : JSON.parse(raw.toString('utf8'))
    ) as {
      updates?: [CommandUpdate, number][];
      lastSeq?: number;
      object?: unknown;
    };
    const answer = (status: number, json: unknown): void => {
      setTimeout(() => {
        state.inFlight--;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      }, 5);
    };
    const acked = state.stored.length - 1;
    if (raw.length > state.maxBodyBytes) return answer(413, { message: `body is ${raw.length} bytes` });
    if (body.updates) {
      state.wireBytes.push(wire);
      state.plainBytes.push(raw.length);
    }
    // An API without log objects: its strict schema refuses the field, as the real one's does.
    if (body.object !== undefined) {
      state.objectsRefused++;
      return answer(400, {
        code: state.objectFault?.code ?? 'invalid_request',
        path: state.objectFault?.path ?? 'object',
        message: state.objectFault?.message ?? 'object: unknown field (expected updates)',
      });
    }
    const failure = state.failures.shift();
    if (failure !== undefined && failure !== 0) return answer(failure, { message: 'injected' });
    const updates = body.updates ?? [];
    const fresh = updates.filter(([, seq]) => seq > acked);
    if (fresh.length > 0 && fresh[0]![1] !== acked + 1) return answer(409, { acked });
    for (const [update] of fresh) state.stored.push(update);
    if (req.url!.endsWith('/complete')) {
      // complete may carry the last updates, stored by the same rule before lastSeq is checked.
      state.completes.push(body);
      const stored = state.stored.length - 1;
      return body.lastSeq! > stored ? answer(409, { acked: stored }) : answer(200, {});
    }
    if (updates.length === 0) state.emptyBatches++;
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
    compressed: 0,
    wireBytes: [],
    plainBytes: [],
    maxBodyBytes: Infinity,
    objectsRefused: 0,
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
  it('merges a stream and sends what the command left on complete itself, with lastSeq: one request', async () => {
    // Prepare
    const s = sender();

    // Act: the command exits before bufferMs
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
    assert.equal(state.requests, 1);
    assert.deepEqual(state.completes, [{ lastSeq: 1, updates: state.stored.map((u, seq) => [u, seq]) }]);
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

  it('compresses large batches', async () => {
    // Act
    const s = sender();
    s.push({ stdout: 'z'.repeat(100_000) });
    await s.finish();

    // Assess
    assert.ok(state.compressed >= 1);
    assert.equal(state.stored.map((u) => u.stdout ?? '').join(''), 'z'.repeat(100_000));
  });

  it('sends 20 MB of repetitive output in few requests, each within the JSON limit', async () => {
    // Prepare
    const s = sender({ bufferMs: 5 });
    const chunk = 'hello\n'.repeat(10_000);

    // Act: the command writes faster than one request takes
    for (let i = 0; i < 20_000_000 / chunk.length; i++) s.push({ stdout: chunk });
    s.push({ rc: 0 });
    await s.finish();

    // Assess
    assert.equal(state.stored.map((u) => u.stdout ?? '').join('').length, 334 * chunk.length);
    assert.ok(state.plainBytes.length <= 4, `${state.plainBytes.length} requests`);
    assert.ok(Math.max(...state.plainBytes) <= 16 * 1024 * 1024);
  });

  it('bounds each request by its compressed size when the output does not compress', async () => {
    // Prepare
    const logged: string[] = [];
    const s = sender({ maxWireBytes: 64 * 1024, log: (line) => logged.push(line) });
    const text = randomBytes(300_000).toString('base64');

    // Act
    for (let at = 0; at < text.length; at += 4096) s.push({ stdout: text.slice(at, at + 4096) });
    await s.finish();

    // Assess
    assert.equal(state.stored.map((u) => u.stdout ?? '').join(''), text);
    assert.ok(state.wireBytes.length >= 6, `${state.wireBytes.length} requests`);
    assert.ok(Math.max(...state.wireBytes) <= 64 * 1024, `largest ${Math.max(...state.wireBytes)} bytes`);
    assert.equal(state.objectsRefused, 1, 'one log object offered; the older API refused its field');
    assert.equal(logged.filter((line) => line.includes('does not take log objects')).length, 1);
  });

  it('fails on a 400 for its log object other than the unknown field, rather than stop sending objects', async () => {
    // Prepare: the API takes log objects but refuses this one's parts
    state.objectFault = { code: 'invalid_request', path: 'object.parts', message: 'object.parts: too long' };
    const logged: string[] = [];
    const s = sender({ log: (line) => logged.push(line) });

    // Act
    s.push({ stdout: randomBytes(100_000).toString('base64') });

    // Assess
    await assert.rejects(s.finish(), /updates refused: .*object\.parts/);
    assert.equal(state.objectsRefused, 1);
    assert.equal(logged.filter((line) => line.includes('does not take log objects')).length, 0);
  });

  it('keeps order and one request in flight while it encodes the next large batch, across failures', async () => {
    // Prepare: batches above the pre-encoding threshold, and answers that fail now and then, so a
    // batch encoded ahead is sometimes thrown away and the resend starts from acked + 1.
    state.failures = [0, 503, 0, 0, 502, 0, 503];
    const s = sender({ bufferMs: 5, maxWireBytes: 256 * 1024 });
    const lines = Array.from({ length: 60_000 }, (_, i) => `line ${i} ${randomBytes(12).toString('hex')}\n`);

    // Act: output arrives in pieces while requests are out
    for (let at = 0; at < lines.length; at += 2_000) {
      s.push({ stdout: lines.slice(at, at + 2_000).join('') });
      if (at % 10_000 === 0) await sleep(2);
    }
    await s.finish();

    // Assess
    assert.equal(state.maxInFlight, 1);
    assert.ok(state.plainBytes.length >= 4, `${state.plainBytes.length} requests`);
    assert.equal(state.stored.map((u) => u.stdout ?? '').join(''), lines.join(''));
  });

  it('halves its requests when the API answers 413, and sends everything once', async () => {
    // Prepare: an edge that inflates 100 KB at most
    state.maxBodyBytes = 100_000;
    const s = sender({ bufferMs: 5 });

    // Act: 400 KB arrive at once, in 4 KB updates
    for (let i = 0; i < 100; i++) s.push({ stdout: `${String(i).padStart(4, '0')}${'x'.repeat(3996)}` });
    await sleep(5);
    await s.finish();

    // Assess
    const text = state.stored.map((u) => u.stdout ?? '').join('');
    assert.equal(text.length, 400_000);
    assert.equal(text.slice(4000 * 99, 4000 * 99 + 4), '0099');
    assert.ok(Math.max(...state.plainBytes) <= 100_000);
  });

  it('gives up and interrupts when the server refuses updates for good', async () => {
    // Prepare
    state.failures = [403];
    const whys: string[] = [];
    const s = sender({ onInterrupt: (why) => whys.push(why) });

    // Act: output sent while the command still runs (after bufferMs)
    s.push({ stdout: 'a' });
    await sleep(60);

    // Assess
    await assert.rejects(s.finish(), /updates refused/);
    assert.equal(whys.length, 1);
  });

  it('is backlogged while it holds backlogBytes of output, until acks bring that down to half', async () => {
    // Prepare: a 100 KB bound, and 200 KB of output pushed at once
    // Requests of two updates each, so that acks bring the backlog down in steps.
    const s = sender({ backlogBytes: 100_000, bufferBytes: 10_000, maxRequestBytes: 30_000 });
    assert.equal(s.backlogged(), undefined);

    // Act
    for (let i = 0; i < 20; i++) s.push({ stdout: `${String(i).padStart(4, '0')}${'x'.repeat(9_995)}\n` });
    const drained = s.backlogged();
    assert.ok(drained, 'backlogged over the bound');
    await drained;
    const heldAfter = s.backlogBytes;
    await s.finish();

    // Assess: nothing lost, and the promise settled only once half the bound was left
    assert.ok(heldAfter <= 50_000, `${heldAfter} bytes still held`);
    assert.ok(heldAfter > 0, 'settled at half the bound, not once everything was acked');
    assert.equal(state.stored.map((u) => u.stdout ?? '').join('').length, 200_000);
  });

  it('lets a backlogged command go when it gives up, so its process is not held for good', async () => {
    // Prepare: the server refuses for good
    state.failures = [403];
    const s = sender({ backlogBytes: 1_000, onInterrupt: () => undefined });
    s.push({ stdout: 'y'.repeat(5_000) });
    const drained = s.backlogged();
    assert.ok(drained);

    // Act & Assess: settles once the sender has failed
    await drained;
    await assert.rejects(s.finish(), /updates refused/);
  });
});
