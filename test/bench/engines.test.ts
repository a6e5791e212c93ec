/**
 * `npm run bench -- --engine`: which worker engines the benchmarks run by default and on request, and how a
 * benchmark run once per engine reports them side by side (a row per engine, a ratio row, the stock targets); and
 * the stock engine's floor, a bare buildbot-worker, when one is on PATH.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  EngineChoiceError,
  findProgram,
  mergeEngineOutcomes,
  selectEngines,
} from '../../bench/lib/engines.ts';
import type { BenchOutcome } from '../../bench/lib/report.ts';
import { startStockFloor } from '../../bench/lib/stockFloor.ts';

function outcome(seconds: number, stored: number): BenchOutcome {
  return {
    params: { runs: 1 },
    figures: [
      { name: 'yes hello: POST → complete', value: seconds, unit: 's', target: { op: '<=', value: 1 } },
      { name: 'yes hello: bytes stored', value: stored, unit: 'KB', target: { op: '<=', value: 181 } },
    ],
    samples: { 'yes hello.completeMs': [seconds * 1000] },
    floor: { description: 'pipe to /dev/null', samples: { 'yes hello.pipeToDevNullMs': [100] } },
    checks: { 'yes hello byte-exact': true },
    details: { runs: [] },
  };
}

describe('npm run bench -- --engine', () => {
  let withWorker: string;
  let without: string;

  before(() => {
    // Prepare: one PATH directory with an executable named buildbot-worker, one without.
    withWorker = mkdtempSync(join(tmpdir(), 'bbs-engines-with-'));
    without = mkdtempSync(join(tmpdir(), 'bbs-engines-without-'));
    writeFileSync(join(withWorker, 'buildbot-worker'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(withWorker, 'buildbot-worker'), 0o755);
  });

  after(() => {
    rmSync(withWorker, { recursive: true, force: true });
    rmSync(without, { recursive: true, force: true });
  });

  it('runs both engines by default when buildbot-worker is on PATH', () => {
    // Act
    const selection = selectEngines(undefined, undefined, { PATH: `${without}:${withWorker}` });
    // Assess
    assert.deepEqual(selection.engines, ['native', 'buildbot-worker']);
    assert.equal(selection.buildbotWorker, join(withWorker, 'buildbot-worker'));
    assert.match(selection.why, /both engines by default/);
  });

  it('runs ours alone by default without buildbot-worker, and says why', () => {
    // Act
    const selection = selectEngines(undefined, undefined, { PATH: without });
    // Assess
    assert.deepEqual(selection.engines, ['native']);
    assert.match(selection.why, /buildbot-worker is not on PATH/);
  });

  it('refuses the stock engine, or an unknown one, when asked for and not possible', () => {
    // Act, Assess
    assert.throws(() => selectEngines('both', undefined, { PATH: without }), EngineChoiceError);
    assert.throws(() => selectEngines('buildbot-worker', undefined, { PATH: without }), EngineChoiceError);
    assert.throws(() => selectEngines('twisted', undefined, { PATH: withWorker }), /--engine must be one of/);
    assert.deepEqual(selectEngines('native', undefined, { PATH: without }).engines, ['native']);
  });

  it('takes --buildbot-worker as a path, found or not', () => {
    // Act
    const given = join(withWorker, 'buildbot-worker');
    // Assess
    assert.deepEqual(selectEngines('buildbot-worker', given, { PATH: without }).engines, ['buildbot-worker']);
    assert.equal(findProgram(join(without, 'buildbot-worker'), {}), undefined);
  });

  it('sets the engines side by side: ours as before, the stock rows prefixed, a ratio row per time', () => {
    // Act
    const merged = mergeEngineOutcomes(
      new Map([
        ['native', outcome(1.5, 100)],
        ['buildbot-worker', outcome(6, 120)],
      ]),
      { stock: { 'yes hello: POST → complete': { op: '<=', value: 2 } } },
    );
    // Assess
    const byName = new Map(merged.figures.map((figure) => [figure.name, figure]));
    assert.deepEqual(byName.get('yes hello: POST → complete')?.target, { op: '<=', value: 1 });
    assert.deepEqual(byName.get('buildbot-worker: yes hello: POST → complete')?.target, {
      op: '<=',
      value: 2,
    });
    assert.deepEqual(byName.get('buildbot-worker: yes hello: bytes stored')?.target, {
      op: '<=',
      value: 181,
    });
    assert.equal(byName.get('buildbot-worker / native: yes hello: POST → complete')?.value, 4);
    assert.equal(byName.has('buildbot-worker / native: yes hello: bytes stored'), false);
    assert.deepEqual(Object.keys(merged.samples), [
      'yes hello.completeMs',
      'buildbot-worker.yes hello.completeMs',
    ]);
    assert.deepEqual(Object.keys(merged.checks), [
      'yes hello byte-exact',
      'buildbot-worker: yes hello byte-exact',
    ]);
    assert.deepEqual((merged.details?.engines as Record<string, unknown>)['buildbot-worker'], {
      params: { runs: 1 },
      details: { runs: [] },
    });
  });
});

describe(
  'the stock engine floor (bench/lib/stockFloor.ts)',
  {
    skip: findProgram('buildbot-worker') ? false : 'no buildbot-worker on PATH',
  },
  () => {
    it('runs commands through a bare buildbot-worker and counts their output and its CPU', async () => {
      // Prepare
      const floor = await startStockFloor(undefined);
      try {
        // Act
        const trivial = await floor.run(['true']);
        const output = await floor.run(['sh', '-c', 'yes hello | head -c 600000']);
        // Assess
        assert.ok(trivial.wallMs > 0);
        assert.equal(trivial.stdoutChars, 0);
        assert.equal(output.stdoutChars, 600_000);
        assert.ok(output.stockCpuS >= 0);
        // 100,000 lines split, framed and sent by a Python process cost it well over one 10 ms clock tick.
        assert.ok(output.stockCpuS > 0, `stock worker CPU for 600,000 bytes: ${output.stockCpuS} s`);
      } finally {
        await floor.stop();
      }
    });
  },
);
