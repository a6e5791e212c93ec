// Owns how a benchmark reports: figures, targets, ratios to the floor, the JSON file.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './machine.ts';
import { summarize } from './stats.ts';
import type { Summary } from './stats.ts';

/** A goal from the issue: the figure must be at most (`<=`), under (`<`), at least (`>=`) or over (`>`) `value`. */
export interface Target {
  op: '<=' | '<' | '>=' | '>';
  value: number;
}

/** One headline number of a benchmark, with the floor it is compared to when there is one. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The same quantity for the bare operation underneath (spawn, pipe, round trip), measured in the same run. */
  floor?: number;
  target?: Target;
}

export interface ReportedFigure extends Figure {
  /** value / floor: how many times the bare operation's cost the system adds up to. */
  ratio?: number;
  /** Whether the target is met; absent when the figure has no target. */
  met?: boolean;
}

/** What a benchmark module measures; run.ts adds the machine, the versions and the percentiles. */
export interface BenchOutcome {
  /** The sizes and counts used (smaller under --smoke). */
  params: Record<string, unknown>;
  figures: Figure[];
  /** Raw samples by series name; units are in the name (`…Ms`, `…Bytes`). */
  samples: Record<string, number[]>;
  floor: { description: string; samples: Record<string, number[]> };
  /** Correctness evidence (nothing lost, nothing duplicated, byte-exact). A false check fails the run. */
  checks: Record<string, boolean>;
  /** Anything else worth keeping: request tallies, per-bundle breakdowns. */
  details?: Record<string, unknown>;
}

export interface BenchResult {
  name: string;
  title: string;
  smoke: boolean;
  startedAt: string;
  durationMs: number;
  machine: MachineInfo;
  versions: Record<string, string>;
  /** The worker engines a benchmark that measures the worker ran, and why those (`--engine`, or the default). */
  engines?: { used: string[]; why: string };
  params: Record<string, unknown>;
  figures: ReportedFigure[];
  samples: Record<string, number[]>;
  percentiles: Record<string, Summary>;
  floor: { description: string; samples: Record<string, number[]>; percentiles: Record<string, Summary> };
  checks: Record<string, boolean>;
  details: Record<string, unknown>;
}

function summaries(series: Record<string, number[]>): Record<string, Summary> {
  return Object.fromEntries(Object.entries(series).map(([name, values]) => [name, summarize(values)]));
}

export function reportFigure(figure: Figure): ReportedFigure {
  const reported: ReportedFigure = { ...figure };
  if (figure.floor !== undefined && figure.floor > 0) reported.ratio = figure.value / figure.floor;
  if (figure.target)
    reported.met = {
      '<=': figure.value <= figure.target.value,
      '<': figure.value < figure.target.value,
      '>=': figure.value >= figure.target.value,
      '>': figure.value > figure.target.value,
    }[figure.target.op];
  return reported;
}

export function buildResult(
  head: Pick<
    BenchResult,
    'name' | 'title' | 'smoke' | 'startedAt' | 'durationMs' | 'machine' | 'versions' | 'engines'
  >,
  outcome: BenchOutcome,
): BenchResult {
  return {
    ...head,
    params: outcome.params,
    figures: outcome.figures.map(reportFigure),
    samples: outcome.samples,
    percentiles: summaries(outcome.samples),
    floor: { ...outcome.floor, percentiles: summaries(outcome.floor.samples) },
    checks: outcome.checks,
    details: outcome.details ?? {},
  };
}

export function writeResult(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.name}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** Three significant digits, enough to compare and few enough to read. */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 0.001) return value.toExponential(2);
  return Number(value.toPrecision(3)).toLocaleString('en-US', { maximumFractionDigits: 6 });
}

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatTable(result: BenchResult): string {
  const header = ['figure', 'value', 'unit', 'floor', 'ratio', 'target', 'met'];
  const rows = result.figures.map((figure) => [
    figure.name,
    formatNumber(figure.value),
    figure.unit,
    formatNumber(figure.floor),
    figure.ratio === undefined ? '' : `${formatNumber(figure.ratio)}x`,
    figure.target ? `${figure.target.op} ${formatNumber(figure.target.value)}` : '',
    figure.met === undefined ? '' : figure.met ? 'yes' : 'NO',
  ]);
  const failed = Object.entries(result.checks).filter(([, ok]) => !ok);
  const checks = Object.keys(result.checks).length
    ? `checks: ${failed.length ? `FAILED ${failed.map(([name]) => name).join(', ')}` : `all ${Object.keys(result.checks).length} passed`}`
    : '';
  return [
    `== ${result.name}: ${result.title}${result.smoke ? ' (smoke sizes)' : ''}`,
    result.engines ? `engines: ${result.engines.used.join(', ')} (${result.engines.why})` : '',
    pad([header, ...rows]),
    checks,
  ]
    .filter(Boolean)
    .join('\n');
}
