import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiCaller, uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { runBbs } from './helpers.ts';

describe('bbs workers and bbs worker register|rotate|delete against the local stack', () => {
  let stack: TestStack;
  let adminEnv: Record<string, string>;
  let clientEnv: Record<string, string>;

  before(async () => {
    stack = await useStack();
    // As npm start exports them: BBS_TOKEN is the client token, BBS_ADMIN_TOKEN the admin one.
    clientEnv = { BBS_API_URL: stack.apiUrl, BBS_TOKEN: stack.tokens.client };
    adminEnv = { ...clientEnv, BBS_ADMIN_TOKEN: stack.tokens.admin };
  });

  after(async () => {
    await stack?.release();
  });

  /** The worker as `bbs workers --json` lists it, and the cursor of the page it is on. */
  async function findListed(name: string): Promise<{ worker?: Record<string, unknown>; cursor?: string }> {
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const listed = await runBbs(
        ['workers', '--json', '--limit', '100', ...(cursor ? ['--cursor', cursor] : [])],
        clientEnv,
      );
      assert.equal(listed.code, 0, listed.stderr);
      const body = JSON.parse(listed.stdout) as { workers: Record<string, unknown>[]; next?: string };
      const worker = body.workers.find((w) => w.name === name);
      if (worker || !body.next) return { worker, ...(cursor ? { cursor } : {}) };
      cursor = body.next;
    }
    return {};
  }

  it('registers a worker, lists it, rotates its token (the old one stops working) and deletes it', async () => {
    // Prepare
    const name = uniqueName('cliadmin');
    const call = apiCaller(stack);

    // Act
    const registered = await runBbs(['worker', 'register', name, '--json'], adminEnv);
    // Oldest registration first, and the shared stack holds other files' workers: page until it shows.
    const { worker: listedWorker, cursor } = await findListed(name);
    const table = await runBbs(
      ['workers', '--limit', '100', ...(cursor ? ['--cursor', cursor] : [])],
      clientEnv,
    );
    const rotated = await runBbs(['worker', 'rotate', name], adminEnv);
    const deleted = await runBbs(['worker', 'delete', name], adminEnv);
    const gone = await runBbs(['worker', 'delete', name], adminEnv);

    // Assess
    assert.equal(registered.code, 0, registered.stderr);
    const first = JSON.parse(registered.stdout) as { name: string; token: string };
    assert.equal(first.name, name);
    assert.equal(listedWorker?.presence, 'offline');
    assert.equal(listedWorker?.lastSeenAt, null);
    assert.equal(typeof listedWorker?.createdAt, 'string');
    assert.equal('queueUrl' in (listedWorker ?? {}), false);
    assert.match(table.stdout, /^NAME +PRESENCE +RUNNING +LAST SEEN +VERSION\n/);
    assert.match(table.stdout, new RegExp(`\\n${name} +offline +- +never +-`));
    assert.equal(rotated.code, 0, rotated.stderr);
    const newToken = /^token +(\S+)$/m.exec(rotated.stdout)?.[1];
    assert.ok(newToken && newToken !== first.token, rotated.stdout);
    assert.match(
      rotated.stdout,
      new RegExp(`BBS_WORKER_TOKEN=${newToken} bbs worker --name ${name} --basedir DIR`),
    );
    const oldBeat = await call(first.token, 'POST', `/v1/workers/${name}/heartbeat`, { commands: ['shell'] });
    assert.equal(oldBeat.status, 401);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `worker ${name} deleted (its token and queue with it)\n`);
    assert.equal(gone.code, 69);
    assert.match(gone.stderr, /worker_not_found/);
  });

  it('pages the list with --limit and the cursor stderr names', async () => {
    // Prepare: at least two workers
    for (let i = 0; i < 2; i++)
      assert.equal((await runBbs(['worker', 'register', uniqueName('page')], adminEnv)).code, 0);

    // Act
    const firstPage = await runBbs(['workers', '--limit', '1'], clientEnv);
    const cursor = /--cursor (\S+)/.exec(firstPage.stderr)?.[1];
    const secondPage = await runBbs(['workers', '--limit', '1', '--cursor', cursor ?? ''], clientEnv);
    const badCursor = await runBbs(['workers', '--cursor', 'bm90IGEgY3Vyc29y'], clientEnv);

    // Assess
    assert.ok(cursor, firstPage.stderr);
    assert.equal(firstPage.stdout.split('\n').length, 3); // header, one row, end
    assert.equal(secondPage.code, 0, secondPage.stderr);
    assert.notEqual(secondPage.stdout.split('\n')[1], firstPage.stdout.split('\n')[1]);
    assert.equal(badCursor.code, 69);
    assert.match(badCursor.stderr, /cursor: not a cursor this API returned for the worker list/);
  });

  it('refuses register with a client token, saying the token lacks the role', async () => {
    // Act
    const result = await runBbs(['worker', 'register', uniqueName('nope')], clientEnv);

    // Assess
    assert.equal(result.code, 69);
    assert.match(result.stderr, /this call needs an admin token; yours is a client token \[forbidden\]/);
  });
});
