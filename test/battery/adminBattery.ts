// The fixture the workers and state batteries share: a fresh online worker, an unused name and a fresh object per case, and the runner that checks none of them changed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { assertRefused, sendArgs, tokenOf } from './battery.ts';
import type { HttpCase } from './battery.ts';

export const INVALID = { status: 400, code: 'invalid_request' };
export const FORBIDDEN = { status: 403, code: 'forbidden' };

/** A case's fixture: a fresh online worker, a name nobody registered, and a fresh object id with no state. */
export interface Fixture {
  worker: TestWorker;
  /** Another online worker, the same for every case of the file. */
  other: TestWorker;
  unused: string;
  objectId: number;
  stateName: string;
}

export function statePath(f: Fixture, objectId: string | number = f.objectId, name = f.stateName): string {
  return `/v1/objects/${objectId}/state/${encodeURIComponent(name)}`;
}

/** Registers the file's shared stack and returns the runner of its batteries. */
export function adminBattery(): (title: string, cases: HttpCase<Fixture>[]) => void {
  const t = commandsFixture(useStack);
  let other: TestWorker | undefined;

  /** What the case may not change: the fresh worker as the admin reads it, the unused name, the fresh state value. */
  async function snapshot(f: Fixture) {
    const { stack, h } = t;
    const worker = await h.call(stack.tokens.admin, 'GET', `/v1/workers/${f.worker.name}`);
    const unused = await h.call(stack.tokens.admin, 'GET', `/v1/workers/${f.unused}`);
    const state = await h.call(stack.tokens.client, 'GET', statePath(f));
    return { worker: worker.body, unusedStatus: unused.status, stateStatus: state.status };
  }

  async function fixture(): Promise<Fixture> {
    const { stack, h } = t;
    other ??= await h.onlineWorker();
    const worker = await h.onlineWorker();
    const made = await h.call<{ objectId: number }>(stack.tokens.client, 'POST', '/v1/objects', {
      name: uniqueName('battery'),
      className: 'Battery',
    });
    assert.equal(made.status, 200, made.text);
    return {
      worker,
      other,
      unused: uniqueName('unused'),
      objectId: made.body.objectId,
      stateName: uniqueName('state'),
    };
  }

  return function battery(title, cases) {
    describe(title, () => {
      for (const testCase of cases) {
        it(
          `refuses ${testCase.name} with ${testCase.status} and changes nothing`,
          { todo: testCase.todo },
          async () => {
            // Prepare
            const { stack, h } = t;
            const f = await fixture();
            const before = await snapshot(f);
            const { as, method, path, body } = testCase.request(f);
            // Act
            const answer = await h.call(
              tokenOf(as, stack.tokens, f.worker, f.other),
              method!,
              path!,
              ...sendArgs(body),
            );
            // Assess
            assertRefused(answer, testCase, testCase.name);
            const after = await snapshot(f);
            assert.deepEqual(after, before, 'the worker, the unused name and the state are as they were');
            assert.equal(after.unusedStatus, 404, 'the unused name is still unregistered');
            assert.equal(after.stateStatus, 404, 'the state value is still missing');
          },
        );
      }
    });
  };
}
