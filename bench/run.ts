/**
 * `npm run bench [-- NAME ...] [--smoke] [--out DIR] [--engine native|buildbot-worker|both]
 * [--buildbot-worker PATH]`: runs the benchmarks (all, or the named ones) one after the other, prints a table
 * for each and writes bench/results/<name>.json. They share one local stack, started only if a benchmark
 * needs it. The benchmarks that measure the worker (dispatch, log) do so with each engine `--engine` selects
 * (by default both when buildbot-worker is on PATH, else ours) and set the figures side by side. Exits 1
 * when a benchmark throws or a correctness check fails; a missed target is reported, not fatal (targets are
 * goals, checks are facts).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LocalStack } from '../local/index.ts';
import { startLocalStack } from '../local/index.ts';
import type { Benchmark, BenchContext } from './lib/benchmark.ts';
import { EngineChoiceError, engineRun, mergeEngineOutcomes, selectEngines } from './lib/engines.ts';
import type { EngineSelection } from './lib/engines.ts';
import { machineInfo, versions } from './lib/machine.ts';
import { defaultResultsDir } from './lib/paths.ts';
import { buildResult, formatTable, writeResult } from './lib/report.ts';
import type { BenchOutcome } from './lib/report.ts';
import { bill } from './bill.ts';
import { coldstart } from './coldstart.ts';
import { dispatch } from './dispatch.ts';
import { log } from './log.ts';
import { push } from './push.ts';
import { scale } from './scale.ts';
import { state } from './state.ts';
import { throughput } from './throughput.ts';
import { transfer } from './transfer.ts';

const BENCHMARKS: readonly Benchmark[] = [
  coldstart,
  state,
  dispatch,
  throughput,
  log,
  bill,
  scale,
  transfer,
  push,
];

class UnknownBenchmarkError extends Error {
  constructor(names: string[]) {
    super(`unknown benchmark ${names.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
    this.name = 'UnknownBenchmarkError';
  }
}

function selectBenchmarks(names: string[]): Benchmark[] {
  const unknown = names.filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length) throw new UnknownBenchmarkError(unknown);
  return names.length ? BENCHMARKS.filter((b) => names.includes(b.name)) : [...BENCHMARKS];
}

/** One benchmark's outcome: run once, or once per selected engine and merged (bench/lib/engines.ts). */
async function runBenchmark(benchmark: Benchmark, ctx: BenchContext): Promise<BenchOutcome> {
  if (benchmark.engines?.mode !== 'each') return benchmark.run(ctx);
  const outcomes = new Map<EngineSelection['engines'][number], BenchOutcome>();
  for (const engine of ctx.engines.engines) {
    ctx.progress(`engine ${engine}`);
    outcomes.set(engine, await benchmark.run({ ...ctx, engine: engineRun(ctx.engines, engine) }));
  }
  return mergeEngineOutcomes(outcomes, benchmark.engines.targets);
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      engine: { type: 'string' },
      'buildbot-worker': { type: 'string' },
    },
  });
  const selected = selectBenchmarks(positionals);
  const engines = selectEngines(values.engine, values['buildbot-worker']);
  if (selected.some((b) => b.engines))
    process.stderr.write(`engines: ${engines.engines.join(' and ')} (${engines.why})\n`);
  const outDir = values.out ? resolve(values.out) : defaultResultsDir;
  const smoke = values.smoke ?? false;

  let stack: Promise<LocalStack> | undefined;
  const ctx: BenchContext = {
    smoke,
    progress: (line) => process.stderr.write(`  ${line}\n`),
    stack: () => {
      stack ??= startLocalStack();
      return stack;
    },
    engines,
    engine: { name: 'native' },
  };

  let failures = 0;
  try {
    for (const benchmark of selected) {
      process.stderr.write(`-- ${benchmark.name}: ${benchmark.title}\n`);
      const machine = machineInfo();
      const startedAt = new Date().toISOString();
      const start = performance.now();
      try {
        const outcome = await runBenchmark(benchmark, ctx);
        const result = buildResult(
          {
            name: benchmark.name,
            title: benchmark.title,
            smoke,
            startedAt,
            durationMs: performance.now() - start,
            machine,
            versions: versions(),
            ...(benchmark.engines ? { engines: { used: engines.engines, why: engines.why } } : {}),
          },
          outcome,
        );
        const file = writeResult(outDir, result);
        console.log(`${formatTable(result)}\n(${file})\n`);
        if (Object.values(result.checks).some((ok) => !ok)) failures += 1;
      } catch (error) {
        failures += 1;
        console.error(
          `${benchmark.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      }
    }
  } finally {
    // A stack that failed to start has nothing to stop; its error was already reported.
    if (stack)
      await stack.then(
        (started) => started.stop(),
        () => undefined,
      );
  }
  return failures ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  if (!(error instanceof EngineChoiceError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 2;
}
