// Pages of log and updates sized by what they cost in the Lambda response (escaped or base64), never over Lambda's 6 MB.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { handler as commandsHandler } from '../../functions/commands.ts';
import type { HttpEvent } from '../../functions/lib/http.ts';
import { responsePayloadBytes } from '../../local/gateway/server.ts';
import { jsonBufferBytes, jsonStringBytes } from '../../shared/commands/escapedBytes.ts';
import { TEXT_BATCH_CONTENT_TYPE, encodeTextBatch } from '../../shared/commands/textBatch.ts';
import * as LIMITS from '../../shared/limits.ts';
import { lambdaContext } from '../functions/printed.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

/** The answer functions/commands.ts gives a client GET, as Lambda would serialize it, and its size. */
async function invokeGet(path: string, routeKey: string, params: Record<string, string>, after: number) {
  const event = {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: `after=${after}`,
    headers: {},
    queryStringParameters: { after: String(after) },
    pathParameters: params,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'escaped-pages',
      authorizer: { lambda: { role: 'client', worker: '', caller: 'test-caller' } },
    },
  } as unknown as HttpEvent;
  const result = (await commandsHandler(event, lambdaContext('commands'))) as {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
    isBase64Encoded?: boolean;
  };
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body);
  return { result, body, payloadBytes: responsePayloadBytes(result) };
}

/** Reads log `name` page by page as a client without compression; every page's Lambda payload size. */
async function readLogPages(commandId: string, name = 'stdout') {
  const pages: { bytes: Buffer; payloadBytes: number; base64: boolean }[] = [];
  let after = -1;
  for (let i = 0; i < 50; i++) {
    const page = await invokeGet(
      `/v1/commands/${commandId}/logs/${name}`,
      'GET /v1/commands/{id}/logs/{name}',
      { id: commandId, name },
      after,
    );
    assert.equal(page.result.statusCode, 200, page.body.toString().slice(0, 300));
    pages.push({ bytes: page.body, payloadBytes: page.payloadBytes, base64: !!page.result.isBase64Encoded });
    const next = Number(page.result.headers['x-bbs-next-seq']);
    if (page.result.headers['x-bbs-log-complete'] === 'true' || next <= after) return pages;
    after = next;
  }
  throw new Error('the log did not end within 50 pages');
}

/** A claimed command whose stdout is `chunk` `count` times, sent in brotli bodies as the worker sends them. */
async function commandWithOutput(chunk: string, count: number): Promise<string> {
  const worker = await t.h.onlineWorker();
  const commandId = await t.h.claimed(worker);
  const updates = Array.from({ length: count }, (_, seq) => [{ stdout: chunk }, seq]);
  for (let at = 0; at < count; at += 16) {
    const body = JSON.stringify({ updates: updates.slice(at, at + 16) });
    const answer = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, undefined, {
      body: brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 1 } }),
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
    assert.equal(answer.status, 200, answer.text);
  }
  const done = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
    lastSeq: count - 1,
  });
  assert.equal(done.status, 200, done.text);
  return commandId;
}

describe('escaped sizes', () => {
  it('counts a string as JSON.stringify writes it, escapes and lone surrogates included', () => {
    // Prepare
    const samples = [
      '',
      'plain',
      '\u0001\u001f',
      '"\\\n\t\b\f\r',
      'é€😀',
      '\ud800x',
      'x\udc00',
      '\u007f\u2028',
    ];
    for (const sample of samples) {
      // Act
      const counted = jsonStringBytes(sample);
      // Assess
      assert.equal(counted, Buffer.byteLength(JSON.stringify(sample)) - 2, JSON.stringify(sample));
      if (!/[\ud800-\udfff]/.test(sample.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')))
        assert.equal(jsonBufferBytes(Buffer.from(sample)), counted, JSON.stringify(sample));
    }
  });
});

describe('log pages in the Lambda response', () => {
  it('keeps a log of control characters (6 bytes each escaped) under the limit, as base64, and reads it whole', async (ctx) => {
    // Prepare: 1.5 MiB of \u0001: 9 MiB escaped, one page by its bytes, 500 from Lambda before this fix
    const chunk = '\u0001'.repeat(64 * 1024);
    const commandId = await commandWithOutput(chunk, 24);
    // Act
    const pages = await readLogPages(commandId);
    // Assess
    const text = Buffer.concat(pages.map((page) => page.bytes)).toString('utf8');
    assert.equal(text, chunk.repeat(24));
    const largest = Math.max(...pages.map((page) => page.payloadBytes));
    assert.ok(largest <= LIMITS.pagePlainBytes + 1024, `largest page ${largest} bytes`);
    assert.ok(pages.some((page) => page.base64));
    ctx.diagnostic(`${pages.length} pages, largest Lambda payload ${largest} bytes`);
  });

  it('cuts a log that escapes by a quarter into pages by their escaped size, sent as text', async (ctx) => {
    // Prepare: 5 MiB of text in which every seventh character is a quote (2 bytes escaped)
    const chunk = 'hello "world"\n'.repeat(4681);
    const commandId = await commandWithOutput(chunk, 80);
    // Act
    const pages = await readLogPages(commandId);
    // Assess
    assert.equal(Buffer.concat(pages.map((page) => page.bytes)).toString('utf8'), chunk.repeat(80));
    assert.ok(pages.length >= 2, `${pages.length} pages`);
    ctx.diagnostic(`${pages.length} pages of ${pages.map((page) => page.payloadBytes).join(', ')} bytes`);
    for (const page of pages) {
      assert.equal(page.base64, false);
      assert.ok(page.payloadBytes <= LIMITS.pagePlainBytes + 1024, `page of ${page.payloadBytes} bytes`);
    }
  });

  it('answers a page of updates full of control characters within the limit (JSON escaped twice)', async (ctx) => {
    // Prepare: each \u0001 is 6 bytes in the page's JSON and 7 once the Lambda response escapes that JSON
    const chunk = '\u0001'.repeat(64 * 1024);
    const commandId = await commandWithOutput(chunk, 24);
    const seen: string[] = [];
    let after = -1;
    let largest = 0;
    // Act
    for (let i = 0; i < 50; i++) {
      const page = await invokeGet(
        `/v1/commands/${commandId}/updates`,
        'GET /v1/commands/{id}/updates',
        { id: commandId },
        after,
      );
      assert.equal(page.result.statusCode, 200);
      largest = Math.max(largest, page.payloadBytes);
      const json = JSON.parse(page.body.toString('utf8')) as {
        updates: [{ stdout: string }, number][];
        next?: number;
      };
      for (const [update] of json.updates) seen.push(update.stdout);
      if (json.next === undefined) break;
      after = json.next;
    }
    // Assess
    assert.equal(seen.join(''), chunk.repeat(24));
    assert.ok(largest <= LIMITS.pagePlainBytes + 1024, `largest page ${largest} bytes`);
    ctx.diagnostic(`largest Lambda payload ${largest} bytes`);
  });
});

describe('a page of one update too large for an uncompressed answer', () => {
  it('answers 406 page_needs_compression to a client without compression, and the page to one with it', async () => {
    // Prepare: one 5 MiB update (a worker other than ours may send one): 6.7 MB as base64, 30 MB escaped
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const text = '\u0001'.repeat(5 * 1024 * 1024);
    const posted = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, undefined, {
      body: brotliCompressSync(encodeTextBatch([[{ stdout: text }, 0]])!),
      headers: { 'content-type': TEXT_BATCH_CONTENT_TYPE, 'content-encoding': 'br' },
    });
    assert.equal(posted.status, 200, posted.text);
    // Act
    const plain = await invokeGet(
      `/v1/commands/${commandId}/logs/stdout`,
      'GET /v1/commands/{id}/logs/{name}',
      { id: commandId, name: 'stdout' },
      -1,
    );
    const compressed = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdout?after=-1`,
    );
    // Assess
    assert.equal(plain.result.statusCode, 406);
    const body = JSON.parse(plain.body.toString()) as Record<string, unknown>;
    assert.equal(body.code, 'page_needs_compression');
    assert.deepEqual([body.seq, body.limit], [0, LIMITS.lambdaResponseBytes]);
    assert.equal(compressed.status, 200);
    assert.equal(compressed.text, text);
  });
});
