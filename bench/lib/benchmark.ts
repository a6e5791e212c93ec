// Owns the shape of one benchmark module and its helpers.
import type { LocalStack } from '../../local/index.ts';
import type { EngineRun, EngineSelection, PerEngineTargets } from './engines.ts';
import type { BenchOutcome } from './report.ts';

export interface BenchContext {
  /** Tiny sizes: the harness is exercised in seconds, the figures mean nothing. */
  smoke: boolean;
  /** Progress lines for the person watching (stderr; the tables go to stdout). */
  progress(line: string): void;
  /** The local stack, started on first use and shared by every benchmark of the run. */
  stack(): Promise<LocalStack>;
  /** The worker engines `--engine` selected: a benchmark with `engines` measures each of them. */
  engines: EngineSelection;
  /**
   * The engine this run's workers use: ours for a benchmark without `engines`, and for one with
   * `engines: { mode: 'each' }` each selected engine in turn.
   */
  engine: EngineRun;
}

/** One module per benchmark, named after what it measures (bench/<name>.ts). */
export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
  /**
   * How the benchmark measures the worker engines `--engine` selected: `each` runs it once per engine with
   * ctx.engine set, and sets the figures side by side (bench/lib/engines.ts mergeEngineOutcomes, with these
   * targets); `within` means run() measures ctx.engines itself. Absent: our own worker only.
   */
  engines?: { mode: 'each' | 'within'; targets?: PerEngineTargets };
}

/** `full` normally, `smoke` under --smoke. */
export function size<T>(ctx: BenchContext, full: T, smoke: T): T {
  return ctx.smoke ? smoke : full;
}
