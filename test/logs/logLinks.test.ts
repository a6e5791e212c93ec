// GET .../logs/{name}/links and the client's readLogBytes: log objects handed out as links, read byte-exact, and what is never a link.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { artifactsContextFromEnv } from '../../shared/artifacts/context.ts';
import { TransferFailedError } from '../../shared/artifacts/errors.ts';
import { getObject, putObject } from '../../shared/artifacts/transfer.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { postUpdates } from '../../shared/commands/ingest.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import { getLogLinks } from '../../shared/commands/logPages.ts';
import type { TextStream } from '../../shared/commands/textParts.ts';
import { LOG_HEADERS } from '../../shared/commands/wire.ts';
import type { LogLinksPage } from '../../shared/commands/wire.ts';
import * as LIMITS from '../../shared/limits.ts';
import { logObjectStore } from '../../shared/logs/objects.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { commandsFixture } from '../commands/helpers.ts';
import { useStack } from '../support/stack.ts';
import { countingStore, objectOf, randomText } from './helpers.ts';
import type { Piece } from './helpers.ts';

const t = commandsFixture(useStack);

/**
 * Stores `pieces` (seqs first..) as one log object, as a worker does: the upload it is asked for, the PUT,
 * the record. `packedRatio` is the worker's estimate of how it compresses (random base64: about 0.76).
 */
async function storeObject(
  worker: TestWorker,
  commandId: string,
  first: number,
  pieces: Piece[],
  packedRatio = 0.76,
): Promise<void> {
  const ctx = commandsContextFromEnv(t.stack.env);
  const { ref, text } = objectOf(first, pieces, packedRatio);
  const store = logObjectStore(artifactsContextFromEnv(t.stack.env));
  const asked = await postUpdates(ctx, worker.name, commandId, [], undefined, { ref, store });
  await putObject(asked.upload!.url, text, asked.upload!.headers);
  const recorded = await postUpdates(ctx, worker.name, commandId, [], undefined, {
    ref: { ...ref, stored: true },
    store,
  });
  assert.equal(recorded.acked, first + pieces.length - 1);
}

async function storeUpdates(
  worker: TestWorker,
  commandId: string,
  updates: SequencedUpdate[],
): Promise<void> {
  const answer = await t.h.call<{ acked: number }>(
    worker.token,
    'POST',
    `/v1/commands/${commandId}/updates`,
    { updates },
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
}

function client(): CommandsClient {
  return new CommandsClient({ apiUrl: t.stack.apiUrl, token: t.stack.tokens.client, pushUrl: false });
}

async function readAll(commandId: string, name: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const bytes of client().readLogBytes(commandId, name)) chunks.push(bytes);
  return Buffer.concat(chunks).toString('utf8');
}

async function linksPage(commandId: string, name: string, after = -1) {
  return t.h.call<LogLinksPage>(
    t.stack.tokens.client,
    'GET',
    `/v1/commands/${commandId}/logs/${name}/links?after=${after}`,
  );
}

const urlsOf = (page: LogLinksPage) => page.pieces.filter((piece) => 'url' in piece).length;

describe('log links', () => {
  it('hands out random-text log objects as links between DynamoDB text, and readLogBytes reads the log byte-exact', async () => {
    // Prepare: a header, two objects of random stdout, a stderr line, then rc
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await storeUpdates(worker, commandId, [[{ header: 'cat big\n' }, 0]]);
    const first = Array.from({ length: 20 }, () => randomText(20_000));
    const second = Array.from({ length: 10 }, () => randomText(30_000));
    await storeObject(
      worker,
      commandId,
      1,
      first.map((text) => ['stdout', text]),
    );
    // The second object ends with a line of stderr: a stdout log links the rest of it, and reads on past it.
    const secondPieces: Piece[] = [...second.map((text): Piece => ['stdout', text]), ['stderr', 'late\n']];
    await storeObject(worker, commandId, 21, secondPieces);
    await storeUpdates(worker, commandId, [
      [{ stderr: 'warning\n' }, 32],
      [{ rc: 0 }, 33],
    ]);
    const counted = countingStore(t.stack.env);

    // Act
    const textPage = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdio?links=1`,
    );
    const page = await linksPage(commandId, 'stdio');
    const stdoutPage = await linksPage(commandId, 'stdout');
    const inProcess = await getLogLinks(commandsContextFromEnv(t.stack.env), commandId, 'stdio', -1, {
      compressed: false,
      objects: counted.store,
    });
    const stdio = await readAll(commandId, 'stdio');
    const stdout = await readAll(commandId, 'stdout');

    // Assess
    assert.equal(textPage.status, 200);
    assert.equal(textPage.text, 'cat big\n', 'the text form ends before the first object');
    assert.equal(textPage.headers.get(LOG_HEADERS.next), 'links');
    assert.equal(textPage.headers.get(LOG_HEADERS.nextSeq), '0');
    assert.equal(page.status, 200);
    assert.equal(urlsOf(page.body), 2, JSON.stringify(page.body.pieces.map((piece) => Object.keys(piece))));
    assert.deepEqual(page.body.pieces[0], { text: 'cat big\n' });
    assert.deepEqual(page.body.pieces.at(-1), { text: 'warning\n' });
    assert.equal(page.body.nextSeq, 33);
    assert.equal(urlsOf(stdoutPage.body), 2);
    assert.equal(stdoutPage.body.nextSeq, 33, 'past the stderr line that ends the second object');
    assert.equal(counted.gets, 0, 'the API fetched none of the objects');
    assert.ok(inProcess.json.length > 0);
    const inProcessPage = JSON.parse(Buffer.concat(inProcess.json).toString('utf8')) as LogLinksPage;
    assert.equal(urlsOf(inProcessPage), 2, 'the counted read is the same page, with its two links');
    assert.equal(stdio, `cat big\n${first.join('')}${second.join('')}late\nwarning\n`);
    assert.equal(stdout, `${first.join('')}${second.join('')}`);
  });

  it('reads compressible text and a stdout log over an object that also holds stderr through the page, not as links', async () => {
    // Prepare: an object that compresses well, then one of stdout and stderr interleaved
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const repeated = Array.from({ length: 10 }, () => 'yes hello\n'.repeat(4_000));
    await storeObject(
      worker,
      commandId,
      0,
      repeated.map((text) => ['stdout', text]),
      0.01,
    );
    const mixed: Piece[] = Array.from({ length: 10 }, (_, i) => [
      i % 2 ? 'stderr' : 'stdout',
      randomText(20_000),
    ]);
    await storeObject(worker, commandId, 10, mixed);

    // Act
    const stdoutPage = await linksPage(commandId, 'stdout');
    const stdioPage = await linksPage(commandId, 'stdio', 9);
    const textFirst = await linksPage(commandId, 'stdio');
    const stdout = await readAll(commandId, 'stdout');
    const stderr = await readAll(commandId, 'stderr');

    // Assess
    assert.equal(urlsOf(stdoutPage.body), 0, 'neither object is a link of stdout');
    assert.equal(urlsOf(stdioPage.body), 1, 'the mixed object is one link of stdio');
    assert.deepEqual(
      { pieces: textFirst.body.pieces, next: textFirst.body.next, nextSeq: textFirst.body.nextSeq },
      { pieces: [], next: 'text', nextSeq: -1 },
      'the links form leaves 400 KB of compressible text to the text form',
    );
    const text = (stream: TextStream) =>
      mixed
        .filter(([s]) => s === stream)
        .map(([, piece]) => piece)
        .join('');
    assert.equal(stdout, repeated.join('') + text('stdout'));
    assert.equal(stderr, text('stderr'));
  });

  it(`spreads more than ${LIMITS.pageLinks} links over pages, and the client reads on from nextSeq`, async () => {
    // Prepare: pageLinks + 2 small objects
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const texts: string[] = [];
    for (let i = 0; i < LIMITS.pageLinks + 2; i++) {
      const text = randomText(40_000);
      texts.push(text);
      await storeObject(worker, commandId, i, [['stdout', text]]);
    }

    // Act
    const page = await linksPage(commandId, 'stdout');
    const whole = await readAll(commandId, 'stdout');

    // Assess
    assert.equal(urlsOf(page.body), LIMITS.pageLinks);
    assert.equal(page.body.nextSeq, LIMITS.pageLinks - 1);
    assert.equal(page.body.complete, false);
    assert.equal(whole, texts.join(''));
  });

  it('answers 404 for the log of a command past its retention, which DynamoDB has not deleted yet', async () => {
    // Prepare: a command with a log object, its record's TTL passed
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await storeObject(worker, commandId, 0, [['stdout', randomText(50_000)]]);
    await t.h.db.send(
      new UpdateCommand({
        TableName: t.h.table,
        Key: commandKey(commandId),
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': Math.floor(Date.now() / 1000) - 1 },
      }),
    );

    // Act
    const links = await linksPage(commandId, 'stdout');
    const text = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdout`);

    // Assess
    assert.equal(links.status, 404);
    assert.equal(text.status, 404);
    assert.equal((text.body as { code?: string }).code, 'command_not_found');
  });

  it('fails a read whose link names no object (TransferFailedError), and answers bad requests with 4xx', async () => {
    // Prepare: fauxqs does not check a presigned URL's signature, so the link is broken by its key instead
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await storeObject(worker, commandId, 0, [['stdout', randomText(50_000)]]);
    const link = (await linksPage(commandId, 'stdout')).body.pieces[0] as { url: string; end: number };
    const url = new URL(link.url);
    url.pathname = `${url.pathname}-gone`;
    const path = `/v1/commands/${commandId}/logs/stdout/links`;

    // Act
    const broken = await getObject(url.toString(), 0, link.end).catch((error: unknown) => error);
    const badAfter = await t.h.call(t.stack.tokens.client, 'GET', `${path}?after=abc`);
    const badLinks = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdout?links=yes`,
    );
    const unknownLog = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/nope/links`,
    );
    const noToken = await t.h.call(undefined, 'GET', path);
    const asWorker = await t.h.call(worker.token, 'GET', path);
    const unknownCommand = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${'0'.repeat(32)}/logs/stdout/links`,
    );

    // Assess
    assert.ok(broken instanceof TransferFailedError, String(broken));
    assert.equal(badAfter.status, 400);
    assert.equal(badLinks.status, 400);
    assert.equal(unknownLog.status, 404);
    assert.equal(noToken.status, 401);
    assert.equal(asWorker.status, 403);
    assert.equal(unknownCommand.status, 404);
  });
});
