import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { putObject } from '../../shared/artifacts/transfer.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import type { UpdatesResponse } from '../../shared/commands/wire.ts';
import type { LogObjectRef } from '../../shared/logs/wire.ts';
import { commandItems, commandsFixture } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { readLog, readUpdates } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { objectOf, randomText } from './helpers.ts';

/** Log objects through the API as a worker drives it: the upload it asks for, the record, resends, and reads. */

const t = commandsFixture(useStack);
const updatesPath = (id: string) => `/v1/commands/${id}/updates`;

/** Random base64 text (barely compressible), as `count` stdout updates of `bytes` each. */
function randomOutput(count: number, bytes: number): string[] {
  return Array.from({ length: count }, () => randomText(bytes));
}

/** The request again once the worker has PUT its object: it says `stored`, and only then does the API look in S3. */
function stored<T extends { object: LogObjectRef }>(request: T): T {
  return { ...request, object: { ...request.object, stored: true } };
}

async function post(worker: TestWorker, commandId: string, body: unknown) {
  return t.h.call<UpdatesResponse>(worker.token, 'POST', updatesPath(commandId), body);
}

async function runItems(commandId: string) {
  return (await commandItems(t.h.db, t.h.table, commandId)).filter((item) =>
    String(item.sk).startsWith('UPD#'),
  );
}

describe('log objects', () => {
  it('records a log object only once S3 holds it, and reads it back byte-exact between DynamoDB runs', async () => {
    // Prepare: a header in DynamoDB, 200 KB of random stdout as an object, then rc
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    assert.equal((await post(worker, commandId, { updates: [[{ header: 'cat big\n' }, 0]] })).status, 200);
    const texts = randomOutput(4, 50_000);
    const object = objectOf(1, texts);
    const request = { updates: [[{ rc: 0 }, 5]], object: object.ref };
    // Act
    const asked = await post(worker, commandId, request);
    await putObject(asked.body.upload!.url, object.text, asked.body.upload!.headers);
    const recorded = await post(worker, commandId, stored(request));
    // Assess
    assert.equal(asked.status, 200);
    assert.equal(asked.body.acked, 0, 'nothing is stored before the upload');
    assert.deepEqual(recorded.body, { acked: 5 });
    const runs = await runItems(commandId);
    assert.deepEqual(
      runs.map((run) => [run.first, run.last, typeof run.obj === 'string']),
      [
        [0, 0, false],
        [1, 4, true],
        [5, 5, false],
      ],
    );
    assert.equal(await readLog(t.stack, commandId, 'stdio'), `cat big\n${texts.join('')}`);
    assert.equal(await readLog(t.stack, commandId, 'stdout'), texts.join(''));
    const expected: SequencedUpdate[] = [
      [{ header: 'cat big\n' }, 0],
      ...texts.map((text, i): SequencedUpdate => [{ stdout: text }, i + 1]),
      [{ rc: 0 }, 5],
    ];
    assert.deepEqual(await readUpdates(t.stack, commandId), expected);
  });

  it('reads an object larger than a page over several pages, every byte once and in order', async () => {
    // Prepare: 5 MiB of random stdout in 80 updates, one object (a page reads 3 MiB of it at most)
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const texts = randomOutput(80, 64 * 1024);
    const object = objectOf(0, texts);
    const request = { updates: [[{ stderr: 'done\n' }, 80]], object: object.ref };
    const asked = await post(worker, commandId, request);
    await putObject(asked.body.upload!.url, object.text, asked.body.upload!.headers);
    assert.equal((await post(worker, commandId, stored(request))).body.acked, 80);
    // Act
    const first = await t.h.call(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${commandId}/logs/stdio?after=-1`,
    );
    const stdio = await readLog(t.stack, commandId, 'stdio');
    const updates = await readUpdates(t.stack, commandId);
    // Assess
    const firstNext = Number(first.headers.get('x-bbs-next-seq'));
    assert.ok(firstNext > 0 && firstNext < 79, `the first page ends inside the object, at seq ${firstNext}`);
    assert.equal(stdio, `${texts.join('')}done\n`);
    assert.deepEqual(updates, [
      ...texts.map((text, i): SequencedUpdate => [{ stdout: text }, i]),
      [{ stderr: 'done\n' }, 80],
    ]);
  });

  it('stores a resent log object once when the answer to its record was lost', async () => {
    // Prepare: the object recorded, its answer never seen by the worker
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const texts = randomOutput(2, 40_000);
    const object = objectOf(0, texts);
    const asked = await post(worker, commandId, { updates: [], object: object.ref });
    await putObject(asked.body.upload!.url, object.text, asked.body.upload!.headers);
    const record = stored({ updates: [], object: object.ref });
    await post(worker, commandId, record);
    // Act: the same request again, then with one more update after it
    const again = await post(worker, commandId, record);
    const more = await post(worker, commandId, { ...record, updates: [[{ stdout: 'tail\n' }, 2]] });
    // Assess
    assert.deepEqual(again.body, { acked: 1 });
    assert.deepEqual(more.body, { acked: 2 });
    assert.deepEqual(
      (await runItems(commandId)).map((run) => [run.first, run.last]),
      [
        [0, 1],
        [2, 2],
      ],
    );
    assert.equal(await readLog(t.stack, commandId, 'stdout'), `${texts.join('')}tail\n`);
  });

  it('records an object uploaded by a request that failed afterwards without asking for it again', async () => {
    // Prepare: the upload succeeded, the record request that should have followed never arrived
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const object = objectOf(0, randomOutput(1, 60_000));
    const asked = await post(worker, commandId, { updates: [], object: object.ref });
    await putObject(asked.body.upload!.url, object.text, asked.body.upload!.headers);
    // Act: the worker's resend, which knows its PUT succeeded
    const resent = await post(worker, commandId, stored({ updates: [], object: object.ref }));
    // Assess
    assert.deepEqual(resent.body, { acked: 0 });
    assert.equal(await readLog(t.stack, commandId, 'stdout'), object.text.toString('utf8'));
  });

  it('asks again for an object S3 holds only in part, and stores nothing', async () => {
    // Prepare: a truncated body under the object's key (a PUT cut short)
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const object = objectOf(0, randomOutput(1, 60_000));
    const asked = await post(worker, commandId, { updates: [], object: object.ref });
    const url = asked.body.upload!.url;
    await putObject(url, object.text.subarray(0, 1000), {});
    // Act
    const answer = await post(worker, commandId, stored({ updates: [], object: object.ref }));
    // Assess
    assert.equal(answer.body.acked, -1);
    assert.ok(answer.body.upload, 'the upload is asked for again');
    assert.deepEqual(await runItems(commandId), []);
  });

  it('refuses an object that starts inside the stored updates with 409 and acked', async () => {
    // Prepare: seqs 0..1 stored from DynamoDB runs
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    await post(worker, commandId, {
      updates: [
        [{ stdout: 'a' }, 0],
        [{ stdout: 'b' }, 1],
      ],
    });
    const object = objectOf(1, randomOutput(2, 40_000));
    // Act
    const answer = await post(worker, commandId, { updates: [], object: object.ref });
    // Assess
    assert.equal(answer.status, 409);
    assert.equal(answer.body.acked, 1);
  });
});
