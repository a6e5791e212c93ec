// Prototype keys (`__proto__`, `constructor`, ...) in a worker's updates: refused at any depth, never stored, and log reads stay 200.
import assert from 'node:assert/strict';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, it } from 'node:test';
import { updateBatchKey } from '../../shared/commands/keys.ts';
import * as LIMITS from '../../shared/limits.ts';
import { useStack } from '../support/stack.ts';
import { commandItems, commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

/** Posts `json` as it is (JSON.stringify cannot write an own `__proto__` key) to a worker route. */
function postRaw(token: string, path: string, json: string) {
  return t.h.call(token, 'POST', path, undefined, {
    body: json,
    headers: { 'content-type': 'application/json' },
  });
}

/** Update objects as a hostile worker writes them, each as the JSON text of one update. */
const REFUSED_UPDATES: Record<string, string> = {
  '__proto__ as an update key': '{"__proto__":{"stdout":"x"}}',
  'constructor as an update key': '{"constructor":"x"}',
  'prototype as an update key': '{"prototype":"x"}',
  'toString as an update key': '{"toString":"x"}',
  'hasOwnProperty as an update key': '{"hasOwnProperty":1}',
  'an unknown key beside stdout': '{"stdout":"x","colour":"red"}',
  '__proto__ inside stat': '{"stat":{"__proto__":{"polluted":true}}}',
  'constructor deep inside stat': '{"stat":[1,{"a":{"constructor":{"prototype":1}}}]}',
  '__proto__ inside files': '{"files":[{"__proto__":1}]}',
  'files nested too deep': `{"files":${'['.repeat(LIMITS.jsonDepth + 1)}${']'.repeat(LIMITS.jsonDepth + 1)}}`,
  'a log that is an object': '{"log":{"__proto__":"x"}}',
  'a log of three items': '{"log":["a","b","c"]}',
};

describe('prototype keys in updates', () => {
  for (const [what, update] of Object.entries(REFUSED_UPDATES)) {
    it(`refuses ${what} with 400 on updates and complete, and stores nothing`, async () => {
      // Prepare
      const worker = await t.h.onlineWorker();
      const commandId = await t.h.claimed(worker);
      // Act
      const updates = await postRaw(
        worker.token,
        `/v1/commands/${commandId}/updates`,
        `{"updates":[[${update},0]]}`,
      );
      const complete = await postRaw(
        worker.token,
        `/v1/commands/${commandId}/complete`,
        `{"lastSeq":0,"updates":[[${update},0]]}`,
      );
      // Assess
      assert.equal(updates.status, 400, updates.text);
      assert.equal(updates.body.code, 'invalid_request');
      assert.equal(complete.status, 400, complete.text);
      const items = await commandItems(t.h.db, t.h.table, commandId);
      assert.equal(items.length, 1, 'only the record');
      assert.equal(items[0]!.acked, -1);
      assert.equal(items[0]!.status, 'running');
    });
  }

  it('stores stat, files and logs named like prototype keys as sent, and serves every read with 200', async () => {
    // Prepare
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const updates = [
      [{ stat: [33188, 1, 2, 1, 0, 0, 5, 1, 2, 3] }, 0],
      [{ files: ['a', 'b/c'] }, 1],
      [{ log: ['__proto__', 'proto log\n'] }, 2],
      [{ log: ['constructor', 'ctor log\n'] }, 3],
      [{ stdout: 'out\n' }, 4],
      [{ rc: 0 }, 5],
    ];
    // Act
    const posted = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, { updates });
    const complete = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
      lastSeq: 5,
    });
    const read = (path: string) => t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}${path}`);
    const all = await read('/updates');
    const proto = await read('/logs/__proto__');
    const ctor = await read('/logs/constructor');
    const stdio = await read('/logs/stdio');
    const view = await read('');
    // Assess
    assert.equal(posted.status, 200, posted.text);
    assert.equal(complete.status, 200, complete.text);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual((all.body as { updates: unknown }).updates, updates);
    assert.equal(proto.status, 200, proto.text);
    assert.equal(proto.text, 'proto log\n');
    assert.equal(ctor.text, 'ctor log\n');
    assert.equal(stdio.text, 'out\n');
    assert.equal(view.status, 200, view.text);
  });

  it('serves the logs of a command whose stored run holds keys no check saw (planted) with 200', async () => {
    // Prepare: a run written before validation used own properties only.
    const worker = await t.h.onlineWorker();
    const commandId = await t.h.claimed(worker);
    const posted = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ stdout: 'first\n' }, 0]],
    });
    assert.equal(posted.status, 200, posted.text);
    const [run] = (await commandItems(t.h.db, t.h.table, commandId)).filter((item) => item.sk !== 'CMD');
    await t.h.db.send(
      new PutCommand({
        TableName: t.h.table,
        Item: {
          ...run,
          ...updateBatchKey(commandId, 0),
          frag: '[{"constructor":"x","__proto__":{"stdout":"y"},"stdout":"first\\n"},0]',
        },
      }),
    );
    // Act
    const stdio = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    const updates = await t.h.call(t.stack.tokens.client, 'GET', `/v1/commands/${commandId}/updates`);
    // Assess
    assert.equal(stdio.status, 200, stdio.text);
    assert.equal(stdio.text, 'first\n');
    assert.equal(updates.status, 200, updates.text);
  });
});
