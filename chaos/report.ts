// The chaos suite's figures: totals, by result and failure kind, per fault, over time; printed and written as JSON.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verdict } from './check.ts';
import type { FaultWindow } from './faults.ts';

export interface Tally {
  submitted: number;
  ended: number;
  /** `RESULT` or `RESULT/failure_kind` → count. */
  byResult: Record<string, number>;
  lostAcks: number;
  duplicatedLines: number;
  /** Commands whose process ran more than once. */
  ranTwice: number;
  stuck: number;
  /** Submissions the API never accepted, though retried until a minute after the load ended: it did not recover. */
  neverAccepted: number;
  /** Commands ended as never started (start_timeout, worker_lost_before_start) that ran all the same. */
  ranAfterEndedUnstarted: number;
}

export interface MemorySample {
  /** Seconds since the run began. */
  t: number;
  /** Resident memory in MiB, by process role (`workers` summed, `workerMax` the largest). */
  rssMb: Record<string, number>;
}

export interface ThroughputSample {
  t: number;
  /** Commands that reached their end in this interval, per second. */
  perSecond: number;
  total: number;
}

export function tally(verdicts: Verdict[]): Tally {
  const out: Tally = {
    submitted: verdicts.length,
    ended: 0,
    byResult: {},
    lostAcks: 0,
    duplicatedLines: 0,
    ranTwice: 0,
    stuck: 0,
    neverAccepted: 0,
    ranAfterEndedUnstarted: 0,
  };
  for (const verdict of verdicts) {
    const label = verdict.failure === 'none' ? verdict.result : `${verdict.result}/${verdict.failure}`;
    out.byResult[label] = (out.byResult[label] ?? 0) + 1;
    if (!verdict.stuck && verdict.result !== 'not_started') out.ended++;
    out.lostAcks += verdict.lost;
    out.duplicatedLines += verdict.duplicatedLines;
    if (verdict.runs > 1) out.ranTwice++;
    if (verdict.stuck) out.stuck++;
    if (verdict.result === 'not_started' && verdict.failure === 'none') out.neverAccepted++;
    if (verdict.runs > 0 && ['start_timeout', 'worker_lost_before_start'].includes(verdict.failure))
      out.ranAfterEndedUnstarted++;
  }
  return out;
}

/** Per fault: the commands that were in flight (submitted, not yet ended) during one of its windows. */
export function perFault(
  verdicts: Verdict[],
  windows: FaultWindow[],
): Record<string, Tally & { injections: number }> {
  const out: Record<string, Tally & { injections: number }> = {};
  for (const fault of new Set(windows.map((w) => w.fault))) {
    const mine = windows.filter((w) => w.fault === fault);
    const hit = verdicts.filter((v) =>
      mine.some((w) => v.startedAt <= w.endedAt && v.endedAt >= w.startedAt),
    );
    out[fault] = { injections: mine.length, ...tally(hit) };
  }
  return out;
}

/** The figures that must be zero (the three of the issue, and a stack that never took commands again), and which are not. */
export function failures(total: Tally): string[] {
  const bad: string[] = [];
  if (total.lostAcks > 0) bad.push(`${total.lostAcks} acked updates lost`);
  if (total.ranTwice > 0) bad.push(`${total.ranTwice} commands ran twice`);
  if (total.stuck > 0) bad.push(`${total.stuck} commands stuck without an end`);
  if (total.neverAccepted > 0)
    bad.push(`${total.neverAccepted} commands never accepted: the API did not recover`);
  return bad;
}

/** Resident memory of a process in MiB, or undefined when it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round((kb / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

function line(label: string, value: unknown): string {
  return `  ${label.padEnd(34)} ${typeof value === 'string' ? value : JSON.stringify(value)}`;
}

/** The figures as a person reads them. */
export function formatReport(report: {
  mode: string;
  seconds: number;
  total: Tally;
  faults?: Record<string, Tally & { injections: number }>;
  proxies?: Record<string, unknown>;
  throughput?: ThroughputSample[];
  memory?: MemorySample[];
  notes?: string[];
}): string {
  const { total } = report;
  const out = [
    `chaos ${report.mode}: ${report.seconds.toFixed(0)} s`,
    line('commands submitted', total.submitted),
    line('commands ended', total.ended),
    ...Object.entries(total.byResult)
      .sort()
      .map(([label, count]) => line(`  ${label}`, count)),
    line('acked updates lost (must be 0)', total.lostAcks),
    line('commands run twice (must be 0)', total.ranTwice),
    line('commands stuck (must be 0)', total.stuck),
    line('never accepted (must be 0)', total.neverAccepted),
    line('lines stored twice', total.duplicatedLines),
    line('ran though ended unstarted', total.ranAfterEndedUnstarted),
  ];
  if (report.faults) {
    out.push('per fault (commands in flight during its windows):');
    for (const [fault, t] of Object.entries(report.faults))
      out.push(
        line(
          `  ${fault} ×${t.injections}`,
          `${t.submitted} in flight, lost ${t.lostAcks}, twice ${t.ranTwice}, stuck ${t.stuck}; ${JSON.stringify(t.byResult)}`,
        ),
      );
  }
  if (report.proxies) out.push(line('proxies and workers', report.proxies));
  if (report.throughput && report.throughput.length > 0) {
    const rates = report.throughput.map((s) => s.perSecond);
    const mean = total.ended / Math.max(1, report.throughput.at(-1)?.t ?? 1);
    out.push(
      line(
        'throughput (commands/s)',
        `mean ${mean.toFixed(1)}, min ${Math.min(...rates)}, max ${Math.max(...rates)}`,
      ),
    );
  }
  if (report.memory && report.memory.length > 0) {
    const first = report.memory[0] as MemorySample;
    const last = report.memory.at(-1) as MemorySample;
    for (const role of Object.keys(last.rssMb))
      out.push(
        line(
          `RSS ${role} (MiB)`,
          `${first.rssMb[role] ?? '-'} → ${last.rssMb[role]} (max ${Math.max(...report.memory.map((m) => m.rssMb[role] ?? 0))})`,
        ),
      );
  }
  for (const note of report.notes ?? []) out.push(`  note: ${note}`);
  return out.join('\n');
}

/** Writes the report as JSON under `dir` (created) and returns the file's path. */
export function writeReport(dir: string, mode: string, report: object): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${mode}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
