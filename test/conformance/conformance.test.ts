// The same commands through our worker and an unmodified buildbot-worker, compared field by field; docs/conformance.md lists what differs and why.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { stopWorker } from '../worker/helpers.ts';
import { CASES } from './cases.ts';
import { compareField } from './compare.ts';
import { DIFFERENCES } from './differences.ts';
import type { KnownDifference } from './differences.ts';
import { FIELDS, buildbotWorkerAvailable, runOn, startAgents } from './harness.ts';
import type { Agents, Observation } from './harness.ts';

const available = buildbotWorkerAvailable();
const skip = available
  ? false
  : 'buildbot-worker is not installed (apt-get install -y buildbot-worker; .ci/run installs it): the conformance suite needs the stock worker';

let stack: TestStack;
let agents: Agents | undefined;
/** Every listed difference that showed in this run (the stale-entry check). */
const seen = new Set<KnownDifference>();
const dump: Record<string, { native: Observation; stock: Observation }> = {};

/** A value for a failure message, cut to a readable length. */
function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 1500 ? `${text.slice(0, 1500)}... (${text.length} characters)` : text;
}

describe('conformance of our worker with buildbot-worker 3.7', { skip }, () => {
  before(async () => {
    stack = await useStack();
    agents = await startAgents(stack);
  });

  after(async () => {
    if (process.env.CONFORMANCE_DUMP)
      writeFileSync(process.env.CONFORMANCE_DUMP, JSON.stringify(dump, null, 1));
    for (const proc of Object.values(agents?.procs ?? {})) await stopWorker(proc);
    await stack?.release();
  });

  for (const kase of CASES)
    it(`${kase.name}: ${kase.command} gives the same result on both engines`, async () => {
      // Act
      const [native, stock] = await Promise.all([
        runOn(stack, agents!, 'native', kase),
        runOn(stack, agents!, 'buildbot-worker', kase),
      ]);
      dump[kase.name] = { native: native.observation, stock: stock.observation };

      // Assess: every field equal, or the difference listed in differences.ts
      const unlisted: string[] = [];
      for (const field of FIELDS) {
        const a = native.observation[field];
        const b = stock.observation[field];
        const verdict = compareField(kase.name, field, a, b);
        for (const d of verdict.used) seen.add(d);
        if (!verdict.accepted) unlisted.push(`${field}:\n  ours:  ${shown(a)}\n  stock: ${shown(b)}`);
      }
      assert.deepEqual(unlisted, [], `unlisted differences in ${kase.name}:\n${unlisted.join('\n')}`);
      for (const value of Object.values(kase.secrets ?? {}))
        for (const [engine, result] of [
          ['native', native],
          ['buildbot-worker', stock],
        ] as const)
          assert.ok(
            !JSON.stringify(result.observation).includes(value),
            `${engine} sent a secret's value unmasked`,
          );
    });

  it('lists no difference that no longer occurs', () => {
    // Assess (after the cases, which node:test runs in order)
    const stale = DIFFERENCES.filter((d) => !seen.has(d)).map((d) => `${d.case}/${d.field}: ${d.reason}`);
    assert.deepEqual(
      stale,
      [],
      'these differences did not occur: remove them from differences.ts and docs/conformance.md',
    );
  });
});
