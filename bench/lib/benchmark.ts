// Owns the shape of one benchmark module and its helpers.
import type { LocalStack } from '../../local/index.ts';
import type { BenchOutcome } from './report.ts';

export interface BenchContext {
  /** Tiny sizes: the harness is exercised in seconds, the figures mean nothing. */
  smoke: boolean;
  /** Progress lines for the person watching (stderr; the tables go to stdout). */
  progress(line: string): void;
  /** The local stack, started on first use and shared by every benchmark of the run. */
  stack(): Promise<LocalStack>;
}

/** One module per benchmark, named after what it measures (bench/<name>.ts). */
export interface Benchmark {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

/** `full` normally, `smoke` under --smoke. */
export function size<T>(ctx: BenchContext, full: T, smoke: T): T {
  return ctx.smoke ? smoke : full;
}
