import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { get as httpGet } from 'node:http';
import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync, gzipSync } from 'node:zlib';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { describe, it } from 'node:test';
import type { UpdatesResponse } from '../../shared/commands/wire.ts';
import { TEXT_BATCH_CONTENT_TYPE, encodeTextBatch } from '../../shared/commands/textBatch.ts';
import { logText } from '../../shared/commands/logText.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { endCommand } from '../../shared/commands/completions.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { loadCommand } from '../../shared/commands/items.ts';
import { completeCommand } from '../../shared/commands/complete.ts';
import { useStack } from '../support/stack.ts';
import { clients, commandItems, commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

const updatesPath = (id: string) => `/v1/commands/${id}/updates`;

describe('updates', () => {
  it('stores a resent batch once when the first answer was lost, and acks the whole batch', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const batch = [
      [{ stdout: 'a' }, 0],
      [{ stdout: 'b' }, 1],
    ];
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: batch });
    // Act: the worker never saw the answer and resends, with one more update appended
    const resent = await t.h.call<UpdatesResponse>(worker.token, 'POST', updatesPath(commandId), {
      updates: [...batch, [{ stdout: 'c' }, 2]],
    });
    const again = await t.h.call<UpdatesResponse>(worker.token, 'POST', updatesPath(commandId), {
      updates: batch,
    });
    // Assess
    assert.deepEqual(resent.body, { acked: 2 });
    assert.deepEqual(again.body, { acked: 2 });
    const runs = (await commandItems(t.h.db, t.h.table, commandId)).filter((item) =>
      String(item.sk).startsWith('UPD#'),
    );
    assert.deepEqual(
      runs.map((run) => [run.sk, run.first, run.last]),
      [
        ['UPD#000000000000', 0, 1],
        ['UPD#000000000002', 2, 2],
      ],
    );
    const read = await t.h.call<{ updates: unknown[] }>(
      t.stack.tokens.client,
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
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'a' }, 0]] });
    // Act
    const gap = await t.h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [[{ stdout: 'c' }, 2]],
    });
    // Assess
    assert.equal(gap.status, 409);
    assert.equal(gap.body.acked, 0);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    assert.equal(items.length, 2);
  });

  it('refuses to complete before every update up to lastSeq is stored (409 {acked})', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'a' }, 0]] });
    // Act
    const early = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 4 });
    // Assess
    assert.equal(early.status, 409);
    assert.equal(early.body.acked, 0);
    const view = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    assert.equal(view.body.status, 'running');
  });

  it('compresses a large batch at rest and reads it back whole', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const big = 'line of build output\n'.repeat(2000);
    // Act
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: big }, 0]] });
    const log = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    // Assess
    const run = (await commandItems(t.h.db, t.h.table, commandId)).find((item) =>
      String(item.sk).startsWith('UPD#'),
    );
    assert.ok(run?.fragBr instanceof Uint8Array);
    assert.ok(run.fragBr.length < big.length / 10);
    assert.equal(log.text, big);
  });
});

describe('text batches and text runs', () => {
  const textBatchHeaders = { 'content-type': TEXT_BATCH_CONTENT_TYPE, 'content-encoding': 'br' };
  const output: SequencedUpdate[] = [
    [{ header: 'sh -c build\n' }, 0],
    [{ stdout: 'compiling "a.c"\t\\ ok\n'.repeat(4000) }, 1],
    [{ stderr: 'warning: ünïcode ☃\n'.repeat(100) }, 2],
    [{ stdout: 'linking\n'.repeat(8000) }, 3],
    [{ rc: 0 }, 4],
  ];

  it('stores output sent as a text batch as text and serves stdout, stderr and stdio byte for byte', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const body = brotliCompressSync(encodeTextBatch(output)!);
    // Act
    const posted = await t.h.call(worker.token, 'POST', updatesPath(commandId), undefined, {
      body,
      headers: textBatchHeaders,
    });
    const logs = Object.fromEntries(
      await Promise.all(
        ['stdout', 'stderr', 'stdio'].map(async (name) => {
          const answer = await t.h.call(
            t.stack.tokens.client,
            'GET',
            `/v1/commands/${commandId}/logs/${name}`,
          );
          return [name, answer.text] as const;
        }),
      ),
    );
    const read = await t.h.call<{ updates: SequencedUpdate[] }>(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/updates`,
    );
    // Assess
    assert.equal(posted.status, 200, posted.text);
    assert.deepEqual(posted.body, { acked: 4 });
    assert.equal(logs.stdout, logText(output, 'stdout'));
    assert.equal(logs.stderr, logText(output, 'stderr'));
    assert.equal(logs.stdio, logText(output, 'stdio'));
    assert.deepEqual(read.body.updates, output);
    const runs = (await commandItems(t.h.db, t.h.table, commandId)).filter((item) =>
      String(item.sk).startsWith('UPD#'),
    );
    assert.deepEqual(
      runs.map((run) => [run.first, run.last, run.textBr instanceof Uint8Array]),
      [
        [0, 3, true],
        [4, 4, false],
      ],
    );
  });

  it('reads a text run from the middle with ?after= without repeating or skipping a byte', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', updatesPath(commandId), undefined, {
      body: brotliCompressSync(encodeTextBatch(output)!),
      headers: textBatchHeaders,
    });
    // Act
    const tail = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdout?after=1`,
    );
    // Assess
    assert.equal(tail.text, logText(output.slice(2), 'stdout'));
    assert.equal(tail.headers.get('x-bbs-next-seq'), '4');
  });

  it('refuses a malformed text batch with 400 and stores nothing', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const header = JSON.stringify({ updates: [], text: { first: 0, parts: 'o10' } });
    // Act
    const refused = await t.h.call(worker.token, 'POST', updatesPath(commandId), undefined, {
      body: Buffer.from(`${header}\nshort`),
      headers: { 'content-type': TEXT_BATCH_CONTENT_TYPE },
    });
    // Assess
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.message), /text batch: the parts add up to more than the 5 bytes/);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    assert.equal(items.filter((item) => String(item.sk).startsWith('UPD#')).length, 0);
    assert.equal(items[0]!.acked, -1);
  });

  it('refuses a text batch on a route that takes JSON only', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    // Act
    const refused = await t.h.call(t.stack.tokens.client, 'POST', '/v1/commands', undefined, {
      body: brotliCompressSync(encodeTextBatch(output)!),
      headers: textBatchHeaders,
    });
    // Assess
    assert.equal(refused.status, 400);
    assert.match(String(refused.body.message), /is for the worker's updates; send JSON here/);
    const listed = await t.h.call<{ commands: unknown[] }>(
      t.stack.tokens.client,
      'GET',
      `/v1/commands?worker=${worker.name}`,
    );
    assert.equal(listed.body.commands.length, 0);
  });
});

describe('logs', () => {
  it('keeps the arrival order of stdout, stderr and header in stdio and serves named logs apart', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker, {
      args: { command: ['make'], logfiles: { junit: 'out.xml' } },
    });
    await t.h.call(worker.token, 'POST', updatesPath(commandId), {
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
    const stdio = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const trace = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/trace`);
    const declared = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/junit`);
    const unknown = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/nope`);
    const tail = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio?after=2`);
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
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: [[{ stdout: 'one\n' }, 0]] });
    const first = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    // Act
    await t.h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [
        [{ stdout: 'two\n' }, 1],
        [{ rc: 0 }, 2],
      ],
    });
    await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: 2 });
    const next = first.headers.get('x-bbs-next-seq');
    const second = await t.h.call(
      t.stack.tokens.client,
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

  /** One GET as raw bytes (no automatic decoding), so that the encoding and the wire size can be checked. */
  function rawGet(
    path: string,
    acceptEncoding: string,
  ): Promise<{ status: number; encoding?: string; wire: Buffer }> {
    return new Promise((resolve, reject) => {
      const request = httpGet(
        `${t.stack.apiUrl}${path}`,
        {
          headers: { authorization: `Bearer ${t.stack.tokens.client}`, 'accept-encoding': acceptEncoding },
          // A connection of its own, as test/support/api.ts explains: no idle socket the gateway may have closed.
          agent: false,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              encoding: response.headers['content-encoding'],
              wire: Buffer.concat(chunks),
            }),
          );
          response.on('error', reject);
        },
      );
      request.on('error', reject);
    });
  }

  /** Follows `next` from `after`; bounded by `maxPages`. */
  async function allPages(
    commandId: string,
    maxPages: number,
    opts: { after?: number; acceptEncoding?: string } = {},
  ): Promise<(Page & { encoding: string | undefined; wireBytes: number })[]> {
    const pages: (Page & { encoding: string | undefined; wireBytes: number })[] = [];
    let after = opts.after ?? -1;
    for (let i = 0; i < maxPages; i++) {
      const answer = await rawGet(`${updatesPath(commandId)}?after=${after}`, opts.acceptEncoding ?? 'gzip');
      const json =
        answer.encoding === 'br'
          ? brotliDecompressSync(answer.wire)
          : answer.encoding === 'gzip'
            ? gunzipSync(answer.wire)
            : answer.wire;
      assert.equal(answer.status, 200, json.toString());
      const page = JSON.parse(json.toString('utf8')) as Page;
      pages.push({ ...page, encoding: answer.encoding, wireBytes: answer.wire.length });
      if (page.next === undefined) break;
      after = page.next;
    }
    return pages;
  }

  /** POST .../updates with a brotli body, as the worker sends large batches. */
  function postCompressed(token: string, commandId: string, updates: unknown[]) {
    return t.h.call(token, 'POST', updatesPath(commandId), undefined, {
      body: brotliCompressSync(JSON.stringify({ updates }), { params: { [zlib.BROTLI_PARAM_QUALITY]: 1 } }),
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
  }

  it('serves whole stored runs, each seq once and in order, and starts inside a run after a seq', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const updates = Array.from({ length: 2500 }, (_, seq) => [{ stdout: `${seq}\n` }, seq]);
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: updates.slice(0, 1200) });
    await t.h.call(worker.token, 'POST', updatesPath(commandId), { updates: updates.slice(1200) });
    // Act
    const whole = await allPages(commandId, 10);
    const fromInside = await allPages(commandId, 10, { after: 1100 });
    // Assess
    assert.equal(whole.length, 1);
    assert.deepEqual(whole[0]!.updates, updates);
    assert.equal(whole[0]!.acked, 2499);
    assert.deepEqual(
      fromInside.flatMap((page) => page.updates),
      updates.slice(1101),
    );
  });

  it('carries 20 MB of repetitive text in one br page of a few KB, and in 4 MiB pages to a client without compression', async () => {
    // Prepare: two requests of 10 MB, as a worker sends a fast command's output
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const chunk = 'hello\n'.repeat(10_000);
    const updates = Array.from({ length: 334 }, (_, seq) => [{ stdout: chunk }, seq]);
    const expected = createHash('sha256').update(chunk.repeat(334)).digest('hex');
    for (const part of [updates.slice(0, 167), updates.slice(167)])
      assert.equal((await postCompressed(worker.token, commandId, part)).status, 200);
    const digest = (pages: Page[]) =>
      createHash('sha256')
        .update(pages.flatMap((page) => page.updates.map(([update]) => String(update.stdout))).join(''))
        .digest('hex');
    // Act
    const compressed = await allPages(commandId, 10, { acceptEncoding: 'br' });
    const gzipped = await allPages(commandId, 10, { acceptEncoding: 'gzip' });
    const plain = await allPages(commandId, 20, { acceptEncoding: 'identity' });
    const log = await new CommandsClient({ apiUrl: t.stack.apiUrl, token: t.stack.tokens.client }).getLog(
      commandId,
      'stdio',
    );
    // Assess
    assert.equal(compressed.length, 1, 'one page up to 64 MiB');
    assert.deepEqual(
      compressed.map((page) => page.encoding),
      ['br'],
    );
    assert.ok(
      compressed.every((page) => page.wireBytes < 64 * 1024),
      `${compressed.map((p) => p.wireBytes)}`,
    );
    assert.equal(digest(compressed), expected);
    assert.equal(gzipped[0]!.encoding, 'gzip');
    assert.equal(digest(gzipped), expected);
    assert.ok(
      plain.length >= 5 &&
        plain.every((page) => page.encoding === undefined && page.wireBytes <= 4 * 1024 * 1024),
    );
    assert.equal(digest(plain), expected);
    assert.equal(createHash('sha256').update(log).digest('hex'), expected);
  });

  it('cuts pages by the bytes stored: 4.8 MB of random text comes in two pages, uncompressed', async () => {
    // Prepare: 12 runs of 400 KB that keep about 75 % of their size
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const texts = Array.from({ length: 12 }, () => randomBytes(300_000).toString('base64'));
    for (const [seq, text] of texts.entries())
      assert.equal((await postCompressed(worker.token, commandId, [[{ stdout: text }, seq]])).status, 200);
    // Act
    const pages = await allPages(commandId, 10, { acceptEncoding: 'br, gzip' });
    // Assess
    assert.ok(pages.length >= 2, `${pages.length} pages`);
    assert.ok(pages.every((page) => page.encoding === undefined && page.wireBytes < 6_000_000));
    assert.deepEqual(
      pages.flatMap((page) => page.updates.map(([update]) => update.stdout)),
      texts,
    );
  });
});

describe('final updates on complete', () => {
  const completePath = (id: string) => `/v1/commands/${id}/complete`;
  const isRun = (item: Record<string, unknown>) => String(item.sk).startsWith('UPD#');

  it('keeps a small final run on the record and serves it after the stored runs, byte-exact and by seq', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker, { args: { command: ['make'] } });
    await t.h.call(worker.token, 'POST', updatesPath(commandId), {
      updates: [
        [{ header: 'H\n' }, 0],
        [{ stdout: 'a\n' }, 1],
      ],
    });
    const final = [
      [{ stdout: 'b\n' }, 2],
      [{ stderr: 'é \u0000"\n' }, 3],
      [{ rc: 0, elapsed: 1.5 }, 4],
    ];
    // Act
    const completed = await t.h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 4,
      updates: final,
    });
    const repeated = await t.h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 4,
      updates: final,
    });
    const all = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/updates`);
    const inside = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/updates?after=2`);
    const stdio = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const stdioAfter = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdio?after=2`,
    );
    const items = await commandItems(t.h.db, t.h.table, commandId);
    // Assess
    assert.equal(completed.status, 200);
    assert.deepEqual(repeated.body, completed.body);
    assert.deepEqual(
      items.filter(isRun).map((item) => item.sk),
      [items.find(isRun)!.sk],
      'only the run of POST .../updates is its own item',
    );
    const record = items.find((item) => !isRun(item))!;
    assert.deepEqual([record.finalRun.first, record.finalRun.last], [2, 4]);
    assert.equal(
      all.text,
      '{"updates":[[{"header":"H\\n"},0],[{"stdout":"a\\n"},1],' +
        JSON.stringify(final).slice(1, -1) +
        '],"acked":4,"status":"complete"}',
    );
    assert.deepEqual((inside.body as { updates: unknown[] }).updates, final.slice(1));
    assert.equal(stdio.text, 'H\na\nb\né \u0000"\n');
    assert.equal(stdio.headers.get('x-bbs-next-seq'), '4');
    assert.equal(stdio.headers.get('x-bbs-log-complete'), 'true');
    assert.equal(stdioAfter.text, 'é \u0000"\n');
    assert.equal(stdioAfter.headers.get('x-bbs-next-seq'), '4');
  });

  it('compresses a final run of shell headers (~800 B) to keep it on the record, and reads it back exactly', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const header = Array.from({ length: 12 }, (_, i) => ` watching /build/dir/line${i} for output\n`).join(
      '',
    );
    const final = [
      [{ header }, 0],
      [{ rc: 0, elapsed: 0.01 }, 1],
    ];
    // Act
    await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
      lastSeq: 1,
      updates: final,
    });
    const all = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/updates`);
    const stdio = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    // Assess
    assert.ok(JSON.stringify(final).length > 500);
    assert.deepEqual(items.filter(isRun), []);
    assert.ok(items[0]!.finalRun.fragBr instanceof Uint8Array);
    assert.equal(
      all.text,
      `{"updates":${JSON.stringify(final).slice(0, -1)}],"acked":1,"status":"complete"}`,
    );
    assert.equal(stdio.text, header);
  });

  it('stores a final run too large for the record as its own item, and reads it back exactly', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const text = randomBytes(900).toString('base64');
    const final = [
      [{ stdout: text }, 0],
      [{ rc: 0 }, 1],
    ];
    // Act
    const completed = await t.h.call(worker.token, 'POST', completePath(commandId), {
      lastSeq: 1,
      updates: final,
    });
    const all = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/updates`);
    const stdio = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    // Assess
    assert.equal(completed.status, 200);
    assert.equal(items.filter(isRun).length, 1);
    assert.equal(items.find((item) => !isRun(item))!.finalRun, undefined);
    assert.deepEqual((all.body as { updates: unknown[] }).updates, final);
    assert.equal(stdio.text, text);
  });

  it('stores nothing of the final run when the watchdog ends the command between the read and the ending write', async () => {
    // Prepare: a context whose next ending write of the worker is preceded by the watchdog's end
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const base = commandsContextFromEnv();
    const { db } = clients(t.stack);
    let raced = false;
    db.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { ConditionExpression?: string };
        if (!raced && input.ConditionExpression?.includes('acked = :prev')) {
          raced = true;
          const read = await loadCommand(base, commandId);
          await endCommand(base, read, 'running', { kind: 'worker_lost', message: 'gone' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'watchdogFirst' },
    );
    // Act
    const outcome = await completeCommand({ ...base, db }, worker.name, commandId, {
      lastSeq: 1,
      updates: [
        [{ stdout: 'late\n' }, 0],
        [{ rc: 0 }, 1],
      ],
    });
    const items = await commandItems(t.h.db, t.h.table, commandId);
    // Assess
    assert.ok(raced);
    assert.equal(outcome.failure?.kind, 'worker_lost');
    assert.deepEqual(items.filter(isRun), []);
    const record = items.find((item) => !isRun(item))!;
    assert.equal(record.finalRun, undefined);
    assert.equal(record.acked, -1);
  });
});

describe('bad input stores nothing', () => {
  it('answers 400 to malformed JSON, wrong types, unknown fields and too many updates, and 413 to a huge body', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const path = updatesPath(commandId);
    const tooMany = Array.from({ length: 10_001 }, (_, i) => [{ stdout: '' }, i]);
    const huge = JSON.stringify({ updates: [[{ stdout: 'x'.repeat(16 * 1024 * 1024 + 10) }, 0]] });
    // Act
    const answers = [
      await t.h.call(worker.token, 'POST', path, undefined, {
        body: '{"updates": [',
        headers: { 'content-type': 'application/json' },
      }),
      await t.h.call(worker.token, 'POST', path, { updates: [[{ stdout: 5 }, 0]] }),
      await t.h.call(worker.token, 'POST', path, { updates: [[{ stdout: 'a' }, 0]], extra: true }),
      await t.h.call(worker.token, 'POST', path, { updates: [[{ colour: 'red' }, 0]] }),
      await t.h.call(worker.token, 'POST', path, { updates: tooMany }),
      await t.h.call(worker.token, 'POST', path, undefined, {
        body: brotliCompressSync(huge),
        headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      }),
      await t.h.call(worker.token, 'POST', path, undefined, {
        body: gzipSync(huge),
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      }),
      await t.h.call(t.stack.tokens.client, 'POST', '/v1/commands', {
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
    const items = await commandItems(t.h.db, t.h.table, commandId);
    assert.equal(items.length, 1);
    assert.equal(items[0]!.acked, -1);
  });

  it('answers 413 to an update too large for one stored item, naming its seq, and stores nothing of the batch', async () => {
    // Prepare: 1 MB of random text compresses to about 750 KB, over the 380 KB an item holds
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const updates = [
      [{ stdout: 'first' }, 0],
      [{ stdout: randomBytes(768 * 1024).toString('base64') }, 1],
    ];
    // Act
    const answer = await t.h.call(worker.token, 'POST', updatesPath(commandId), undefined, {
      body: brotliCompressSync(JSON.stringify({ updates })),
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
    // Assess
    assert.equal(answer.status, 413, answer.text);
    assert.match(String(answer.body.message), /update seq 1 .* does not fit one stored item/);
    const items = await commandItems(t.h.db, t.h.table, commandId);
    assert.deepEqual(
      items.map((item) => [item.sk, item.acked]),
      [['CMD', -1]],
    );
  });
});
