// The conformance suite's body: one stack, both engines, each case compared field by field; the test files give it their cases.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { stopWorker } from '../worker/helpers.ts';
import { compareField, matchesCase } from './compare.ts';
import { DIFFERENCES } from './differences.ts';
import type { KnownDifference } from './differences.ts';
import { FIELDS, buildbotWorkerAvailable, runOn, startAgents } from './harness.ts';
import type { Agents, ConformanceCase, Observation } from './harness.ts';

/** A value for a failure message, cut to a readable length. */
function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 1500 ? `${text.slice(0, 1500)}... (${text.length} characters)` : text;
}

/**
 * Runs `cases` through both engines in one describe. The stale-entry check covers the differences that name
 * one of these cases (or a pattern matching one), and the every-case ('*') ones only in the file that says it
 * owns them (`ownsEveryCase`): npm test gives each file 300 s, so the cases are split over two files, and each
 * checks what it can see. CONFORMANCE_DUMP=FILE writes every observation to FILE-<name>.json.
 */
export function conformanceSuite(
  title: string,
  name: string,
  cases: ConformanceCase[],
  ownsEveryCase: boolean,
): void {
  const available = buildbotWorkerAvailable();
  const skip = available
    ? false
    : 'buildbot-worker is not installed (apt-get install -y buildbot-worker; .ci/run installs it): the conformance suite needs the stock worker';

  let stack: TestStack;
  let agents: Agents | undefined;
  /** Every listed difference that showed in this run (the stale-entry check). */
  const seen = new Set<KnownDifference>();
  const dump: Record<string, { native: Observation; stock: Observation }> = {};

  describe(title, { skip }, () => {
    before(async () => {
      stack = await useStack();
      agents = await startAgents(stack);
    });

    after(async () => {
      if (process.env.CONFORMANCE_DUMP)
        writeFileSync(
          `${process.env.CONFORMANCE_DUMP.replace(/\.json$/, '')}-${name}.json`,
          JSON.stringify(dump, null, 1),
        );
      for (const proc of Object.values(agents?.procs ?? {})) await stopWorker(proc);
      await stack?.release();
    });

    for (const kase of cases)
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
      const mine = DIFFERENCES.filter((d) =>
        d.case === '*' ? ownsEveryCase : cases.some((kase) => matchesCase(d.case, kase.name)),
      );
      const stale = mine.filter((d) => !seen.has(d)).map((d) => `${d.case}/${d.field}: ${d.reason}`);
      assert.deepEqual(
        stale,
        [],
        'these differences did not occur: remove them from differences.ts and docs/conformance.md',
      );
    });
  });
}
