// A route answers 503 with Retry-After, never 500, while DynamoDB Local is down, and 200 once it is back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { apiCaller } from '../support/api.ts';
import type { Answer } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';

/** Its own stack on persisted data: killing DynamoDB Local under the shared stack would fail every other file. */
let stack: LocalStack;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'bbs-unavailable-'));
  stack = await startLocalStack({ persistDir: dir, pollWaitSeconds: 1 });
});

after(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('answers while DynamoDB Local is down', () => {
  it('answers 503 service_unavailable with Retry-After while DynamoDB Local is down, and 200 after it restarts', async () => {
    // Prepare: one answered call first, so the authorizer's decision is cached (60 s) and the route itself meets the outage.
    const call = apiCaller(stack);
    const created = await call(stack.tokens.client, 'POST', '/v1/objects', {
      name: 'o',
      className: 'Outage',
    });
    const statePath = `/v1/objects/${String(created.body.objectId)}/state/kept`;
    assert.equal((await call(stack.tokens.client, 'PUT', statePath, { value: 'kept' })).status, 200);
    // A read of a stored value: every call is a GetItem (object ids are cached in the process, values are not).
    const readState = (): Promise<Answer> => call(stack.tokens.client, 'GET', statePath);
    assert.equal((await readState()).status, 200);
    const killed = stack.emulators.javaPid;
    // Act
    process.kill(killed, 'SIGKILL');
    const answers: Answer[] = [];
    const back = await waitFor(
      'a 200 after DynamoDB Local restarted',
      async () => {
        const answer = await readState();
        answers.push(answer);
        return answer.status === 200 && stack.emulators.javaPid !== killed && answer;
      },
      60_000,
      20,
    );
    // Assess
    const unavailable = answers.filter((answer) => answer.status === 503);
    assert.ok(unavailable.length > 0, `no 503 among ${answers.map((a) => a.status).join(', ')}`);
    assert.deepEqual(
      answers.filter((answer) => answer.status !== 503 && answer.status !== 200).map((a) => a.text),
      [],
    );
    for (const answer of unavailable) {
      assert.equal(answer.body.code, 'service_unavailable', answer.text);
      assert.ok(Number(answer.headers.get('retry-after')) > 0, 'Retry-After is a number of seconds');
      assert.equal(answer.body.retryAfterSeconds, Number(answer.headers.get('retry-after')));
      assert.deepEqual(Object.keys(answer.body).sort(), ['code', 'error', 'message', 'retryAfterSeconds']);
    }
    assert.equal(back.body.value, 'kept', 'the value stored before the outage is read after it');
  });
});
