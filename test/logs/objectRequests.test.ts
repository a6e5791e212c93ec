// The S3 requests a log object costs the API: no HEAD before the PUT, none for a stream the read skips, each byte fetched once over pages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putObject } from '../../shared/artifacts/transfer.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { postUpdates } from '../../shared/commands/ingest.ts';
import { getLog } from '../../shared/commands/logPages.ts';
import { getUpdates } from '../../shared/commands/pagedReads.ts';
import type { LogObjectStore } from '../../shared/logs/objects.ts';
import { commandsFixture } from '../commands/helpers.ts';
import { useStack } from '../support/stack.ts';
import { countingStore, objectOf, randomText } from './helpers.ts';

/**
 * The S3 requests a log object costs, counted at the store the API uses (its HEADs, PUT URLs and ranged
 * GETs are presigned fetches, which no SDK client counts): the ingest and the page reads run in this process
 * against the local stack.
 */
const t = commandsFixture(useStack);

/** A claimed command whose seqs 0..79 are one 5 MiB log object of stdout, and seq 80 a line of stderr. */
async function stdoutObjectThenStderr(): Promise<{ commandId: string; stdout: string }> {
  const worker = await t.h.onlineWorker();
  const commandId = await t.h.claimed(worker);
  const ctx = commandsContextFromEnv(t.stack.env);
  const texts = Array.from({ length: 80 }, () => randomText(64 * 1024));
  const object = objectOf(0, texts);
  const { store } = countingStore(t.stack.env);
  const tail: [{ stderr: string }, number][] = [[{ stderr: 'done\n' }, 80]];
  const asked = await postUpdates(ctx, worker.name, commandId, tail, undefined, { ref: object.ref, store });
  await putObject(asked.upload!.url, object.text, asked.upload!.headers);
  const ref = { ...object.ref, stored: true };
  const recorded = await postUpdates(ctx, worker.name, commandId, tail, undefined, { ref, store });
  assert.equal(recorded.acked, 80);
  return { commandId, stdout: texts.join('') };
}

/** Reads log `name` page by page to the end, in process, with `store`. */
async function readAll(commandId: string, name: string, compressed: boolean, store: LogObjectStore) {
  const ctx = commandsContextFromEnv(t.stack.env);
  const texts: Buffer[] = [];
  let after = -1;
  let pages = 0;
  for (;;) {
    const page = await getLog(ctx, commandId, name, after, { compressed, objects: store });
    pages += 1;
    for (const text of page.texts) texts.push(Buffer.from(text));
    if (page.nextSeq >= 80) break;
    assert.ok(page.nextSeq > after, `page ${pages} moved on from ${after}`);
    after = page.nextSeq;
  }
  return { text: Buffer.concat(texts).toString('utf8'), pages };
}

describe('S3 requests of log objects', () => {
  it('answers the upload without looking in S3, and checks it with one HEAD once the worker says it PUT it', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const ctx = commandsContextFromEnv(t.stack.env);
    const object = objectOf(0, [randomText(60_000)]);
    const counted = countingStore(t.stack.env);
    const input = { ref: object.ref, store: counted.store };
    // Act
    const asked = await postUpdates(ctx, worker.name, commandId, [], undefined, input);
    await putObject(asked.upload!.url, object.text, asked.upload!.headers);
    const headsBeforeRecord = counted.heads;
    const unsure = await postUpdates(ctx, worker.name, commandId, [], undefined, input);
    const recorded = await postUpdates(ctx, worker.name, commandId, [], undefined, {
      ...input,
      ref: { ...object.ref, stored: true },
    });
    // Assess
    assert.equal(asked.acked, -1);
    assert.equal(headsBeforeRecord, 0, 'no HEAD before the PUT');
    assert.ok(unsure.upload, 'a request that does not say stored is answered the upload again');
    assert.equal(unsure.acked, -1);
    assert.equal(recorded.upload, undefined);
    assert.equal(recorded.acked, 0);
    assert.equal(counted.heads, 1, 'one HEAD per object');
    assert.equal(counted.uploads, 2);
  });

  it('reads stderr over a stdout log object without fetching the object', async () => {
    // Prepare
    const { commandId } = await stdoutObjectThenStderr();
    for (const compressed of [false, true]) {
      const counted = countingStore(t.stack.env);
      // Act
      const { text } = await readAll(commandId, 'stderr', compressed, counted.store);
      // Assess
      assert.equal(text, 'done\n');
      assert.equal(counted.gets, 0, `no GET (${compressed ? 'compressed' : 'uncompressed'})`);
    }
  });

  it('fetches each byte of a log object once over pages, compressed or not, and reads it byte-exact', async () => {
    // Prepare
    const { commandId, stdout } = await stdoutObjectThenStderr();
    for (const compressed of [false, true]) {
      const counted = countingStore(t.stack.env);
      // Act
      const { text, pages } = await readAll(commandId, 'stdout', compressed, counted.store);
      // Assess
      assert.ok(text === stdout, 'byte-exact');
      assert.equal(counted.got, Buffer.byteLength(stdout), 'every byte fetched once');
      assert.equal(counted.gets, pages, 'one GET a page');
      assert.ok(pages >= 2 && pages <= 3, `${pages} pages`);
    }
  });

  it('fetches each byte once for GET .../updates too', async () => {
    // Prepare
    const { commandId, stdout } = await stdoutObjectThenStderr();
    const ctx = commandsContextFromEnv(t.stack.env);
    const counted = countingStore(t.stack.env);
    const texts: string[] = [];
    // Act
    let after = -1;
    for (;;) {
      const page = await getUpdates(ctx, commandId, after, { compressed: false, objects: counted.store });
      const body = JSON.parse(Buffer.concat(page.json).toString('utf8')) as {
        updates: [{ stdout?: string }, number][];
        next?: number;
      };
      for (const [update] of body.updates) texts.push(update.stdout ?? '');
      if (body.next === undefined) break;
      after = body.next;
    }
    // Assess
    assert.ok(texts.join('') === stdout, 'byte-exact');
    assert.equal(counted.got, Buffer.byteLength(stdout), 'every byte fetched once');
  });
});
