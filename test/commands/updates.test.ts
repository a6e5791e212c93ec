import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import type { UpdatesResponse } from '../../shared/commands/wire.ts';
import { commandItems, harness } from './helpers.ts';

let stack: LocalStack;
let h: ReturnType<typeof harness>;

before(async () => {
  stack = await startLocalStack({ pollWaitSeconds: 1 });
  h = harness(stack);
});

after(async () => {
  await stack?.stop();
});

const updatesPath = (id: string) => `/v1/commands/${id}/updates`;

describe('updates', () => {
  it('stores a resent batch once when the first answer was lost, and acks the whole batch', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const batch = [
      [{ stdout: 'a' }, 0],
      [{ stdout: 'b' }, 1],
    ];
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: batch });
    // Act: the worker never saw the answer and resends, with one more update appended
    const resent = await h.call<UpdatesResponse>(worker.token, 'POST', updatesPath(commandId), {
      updates: [...batch, [{ stdout: 'c' }, 2]],
    });
    const again = await h.call<UpdatesResponse>(worker.token, 'POST', updatesPath(commandId), {
      updates: batch,
    });
    // Assess
    assert.deepEqual(resent.body, { acked: 2 });
    assert.deepEqual(again.body, { acked: 2 });
    const runs = (await commandItems(h.db, h.table, commandId)).filter((item) =>
      String(item.sk).startsWith('UPD#'),
    );
    assert.deepEqual(
      runs.map((run) => [run.sk, run.first, run.last]),
      [
        ['UPD#000000000000', 0, 1],
        ['UPD#000000000002', 2, 2],
      ],
    );
    const read = await h.call<{ updates: unknown[] }>(
      stack.tokens.client,
      'GET',
      `${updatesPath(commandId)}?after=-1`,
    );
    assert.deepEqual(read.body.updates, [
      [{ stdout: 'a' }, 0],
      [{ stdout: 'b' }, 1],
      [{ stdout: 'c' }, 2],
    ]);
  });

  it('answers 409 {acked} to a batch that leaves a gap, and stores nothing', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'a' }, 0]] });
    // Act
    const gap = await h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [[{ stdout: 'c' }, 2]],
    });
    // Assess
    assert.equal(gap.status, 409);
    assert.equal(gap.body.acked, 0);
    const items = await commandItems(h.db, h.table, commandId);
    assert.equal(items.length, 2);
  });

  it('refuses to complete before every update up to lastSeq is stored (409 {acked})', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'a' }, 0]] });
    // Act
    const early = await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 4 });
    // Assess
    assert.equal(early.status, 409);
    assert.equal(early.body.acked, 0);
    const view = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    assert.equal(view.body.status, 'running');
  });

  it('compresses a large batch at rest and reads it back whole', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const big = 'line of build output\n'.repeat(2000);
    // Act
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: big }, 0]] });
    const log = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    // Assess
    const run = (await commandItems(h.db, h.table, commandId)).find((item) =>
      String(item.sk).startsWith('UPD#'),
    );
    assert.ok(run?.gz instanceof Uint8Array);
    assert.ok(run.gz.length < big.length / 10);
    assert.equal(log.text, big);
  });
});

describe('logs', () => {
  it('keeps the arrival order of stdout, stderr and header in stdio and serves named logs apart', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker, {
      args: { command: ['make'], logfiles: { junit: 'out.xml' } },
    });
    await h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [
        [{ header: 'H1\n' }, 0],
        [{ stdout: 'o1\n' }, 1],
        [{ stderr: 'e1\n' }, 2],
        [{ log: ['trace', 't1\n'] }, 3],
        [{ stdout: 'o2\n' }, 4],
        [{ log: ['trace', 't2\n'] }, 5],
      ],
    });
    // Act
    const stdio = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const trace = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/trace`);
    const declared = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/junit`);
    const unknown = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/nope`);
    const tail = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio?after=2`);
    // Assess
    assert.equal(stdio.text, 'H1\no1\ne1\no2\n');
    assert.equal(stdio.headers.get('x-bbs-next-seq'), '5');
    assert.equal(stdio.headers.get('x-bbs-log-complete'), 'false');
    assert.equal(trace.text, 't1\nt2\n');
    assert.equal(declared.status, 200);
    assert.equal(declared.text, '');
    assert.equal(unknown.status, 404);
    assert.equal(tail.text, 'o2\n');
  });

  it('follows a log live with ?after= and x-bbs-next-seq until it is complete', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'one\n' }, 0]] });
    const first = await h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    // Act
    await h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [
        [{ stdout: 'two\n' }, 1],
        [{ rc: 0 }, 2],
      ],
    });
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 2 });
    const next = first.headers.get('x-bbs-next-seq');
    const second = await h.call(
      stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdio?after=${next}`,
    );
    // Assess
    assert.equal(first.text, 'one\n');
    assert.equal(second.text, 'two\n');
    assert.equal(second.headers.get('x-bbs-log-complete'), 'true');
  });
});

describe('paging through updates', () => {
  type Page = { updates: [Record<string, unknown>, number][]; acked: number; next?: number };

  /** Follows `next` from the start; bounded by `maxPages`. */
  async function allPages(commandId: string, maxPages: number): Promise<Page[]> {
    const pages: Page[] = [];
    let after = -1;
    for (let i = 0; i < maxPages; i++) {
      const page = await h.call<Page>(stack.tokens.client, 'GET', `${updatesPath(commandId)}?after=${after}`);
      assert.equal(page.status, 200, page.text);
      pages.push(page.body);
      if (page.body.next === undefined) break;
      after = page.body.next;
    }
    return pages;
  }

  it('serves 2500 updates as pages of 1000, 1000 and 500, each seq once and in order', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const updates = Array.from({ length: 2500 }, (_, seq) => [{ stdout: `${seq}\n` }, seq]);
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: updates.slice(0, 1200) });
    await h.call(worker.token, 'POST', updatesPath(commandId), { updates: updates.slice(1200) });
    // Act
    const pages = await allPages(commandId, 10);
    // Assess
    assert.deepEqual(
      pages.map((page) => [page.updates.length, page.next]),
      [
        [1000, 999],
        [1000, 1999],
        [500, undefined],
      ],
    );
    assert.deepEqual(
      pages.flatMap((page) => page.updates),
      updates,
    );
  });

  it('cuts pages at 1 MiB of updates: five updates of 400 KB come as 3 and 2', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    for (let seq = 0; seq < 5; seq++)
      await h.call(worker.token, 'POST', updatesPath(commandId), {
        updates: [[{ stdout: String(seq).repeat(400 * 1000) }, seq]],
      });
    // Act
    const pages = await allPages(commandId, 10);
    // Assess
    assert.deepEqual(
      pages.map((page) => page.updates.map(([, seq]) => seq)),
      [
        [0, 1, 2],
        [3, 4],
      ],
    );
    assert.equal(pages[1]!.updates[1]![0].stdout, '4'.repeat(400 * 1000));
  });
});

describe('bad input stores nothing', () => {
  it('answers 400 to malformed JSON, wrong types, unknown fields and too many updates, and 413 to a huge body', async () => {
    // Prepare
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    const path = updatesPath(commandId);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => [{ stdout: '' }, i]);
    const huge = JSON.stringify({ updates: [[{ stdout: 'x'.repeat(1024 * 1024 + 10) }, 0]] });
    // Act
    const answers = [
      await h.call(worker.token, 'POST', path, undefined, {
        body: '{"updates": [',
        headers: { 'content-type': 'application/json' },
      }),
      await h.call(worker.token, 'POST', path, { updates: [[{ stdout: 5 }, 0]] }),
      await h.call(worker.token, 'POST', path, { updates: [[{ stdout: 'a' }, 0]], extra: true }),
      await h.call(worker.token, 'POST', path, { updates: [[{ colour: 'red' }, 0]] }),
      await h.call(worker.token, 'POST', path, { updates: tooMany }),
      await h.call(worker.token, 'POST', path, undefined, {
        body: huge,
        headers: { 'content-type': 'application/json' },
      }),
      await h.call(worker.token, 'POST', path, undefined, {
        body: gzipSync(huge),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      }),
      await h.call(stack.tokens.client, 'POST', '/v1/commands', {
        worker: worker.name,
        command: 'shell',
        args: [],
      }),
    ];
    // Assess
    assert.deepEqual(
      answers.map((a) => a.status),
      [400, 400, 400, 400, 400, 413, 413, 400],
    );
    const items = await commandItems(h.db, h.table, commandId);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.acked, -1);
  });
});
