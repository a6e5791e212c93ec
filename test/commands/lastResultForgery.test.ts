// A client with state write access cannot forge or pin a worker's last result through the state API.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LAST_RESULT } from '../../shared/commands/lastResult.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture, lastResultOf, successEvent } from './helpers.ts';

const t = commandsFixture(useStack);

describe("a worker's last result", () => {
  it('cannot be written through the state API, so a forged completedAt 9999 cannot pin it', async () => {
    // Prepare: the worker's last-result object, as the consumer addresses it.
    const worker = await t.h.onlineWorker();
    const object = await t.h.call<{ objectId: number }>(t.stack.tokens.client, 'POST', '/v1/objects', {
      name: worker.name,
      className: LAST_RESULT.className,
    });
    assert.equal(object.status, 200, object.text);
    const path = `/v1/objects/${object.body.objectId}/state/${encodeURIComponent(LAST_RESULT.stateName)}`;
    const forged = successEvent({
      commandId: 'f'.repeat(32),
      worker: worker.name,
      completedAt: '9999-12-31T23:59:59.999Z',
    });
    // Act
    const put = await t.h.call(t.stack.tokens.client, 'PUT', path, { value: forged });
    const create = await t.h.call(t.stack.tokens.client, 'POST', `${path}/create`, { value: forged });
    const adminPut = await t.h.call(t.stack.tokens.admin, 'PUT', path, { value: forged });
    const commandId = await t.h.claimed(worker);
    const done = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, {
      lastSeq: 0,
      updates: [[{ rc: 0 }, 0]],
    });
    // Assess: refused, and the real completion is what the consumer keeps and a client reads.
    for (const answer of [put, create, adminPut]) {
      assert.equal(answer.status, 403, answer.text);
      assert.equal(answer.body.code, 'forbidden');
    }
    assert.equal(done.status, 200, done.text);
    const recorded = await lastResultOf(worker.name, commandId);
    assert.equal(recorded.commandId, commandId);
    const read = await t.h.call<{ value: { commandId: string } }>(t.stack.tokens.client, 'GET', path);
    assert.equal(read.status, 200, read.text);
    assert.equal(read.body.value.commandId, commandId);
  });

  it('leaves other state names of the same object writable', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const object = await t.h.call<{ objectId: number }>(t.stack.tokens.client, 'POST', '/v1/objects', {
      name: worker.name,
      className: LAST_RESULT.className,
    });
    // Act
    const put = await t.h.call(
      t.stack.tokens.client,
      'PUT',
      `/v1/objects/${object.body.objectId}/state/lastResult`,
      { value: { note: 'mine' } },
    );
    // Assess
    assert.equal(put.status, 200, put.text);
  });
});
