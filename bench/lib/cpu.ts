// Owns CPU time per process, read from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * CPU time per process, from Linux's /proc, to say where a workload's CPU went. A process's own time
 * (utime + stime, every thread) and its reaped children's (cutime + cstime: a worker's `true`s).
 */
export interface ProcessCpu {
  ownMs: number;
  childrenMs: number;
}

export class ProcStatError extends Error {
  readonly pid: number;

  constructor(pid: number, detail: string) {
    super(`cannot read the CPU time of process ${pid}: ${detail}`);
    this.name = 'ProcStatError';
    this.pid = pid;
  }
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's counters (100 on most Linux builds). */
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** /proc/<pid>/stat: fields 14–17 (utime stime cutime cstime) after the `(comm)`, which may hold spaces. */
export function readProcessCpu(pid: number): ProcessCpu {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    throw new ProcStatError(pid, (error as Error).message);
  }
  // Fields after ") " start at field 3 (state), so utime (field 14) is index 11.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  if ([utime, stime, cutime, cstime].some((value) => !Number.isFinite(value)))
    throw new ProcStatError(pid, `unexpected /proc/${pid}/stat: ${stat.slice(0, 200)}`);
  const msPerTick = 1000 / clockTicks();
  return { ownMs: (utime! + stime!) * msPerTick, childrenMs: (cutime! + cstime!) * msPerTick };
}

/** The whole machine's busy CPU time (every core, every process: /proc/stat's first line minus idle and iowait). */
export function readMachineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // cpu user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return ((user! + nice! + system! + irq! + softirq! + steal!) * 1000) / clockTicks();
}

/** A process to account for: its label in the report, and where its CPU time is read. */
export type CpuSource = { label: string; pid: number } | { label: string; self: true };

export type CpuReading = Record<string, ProcessCpu> & { machine: ProcessCpu };

function readSource(source: CpuSource): ProcessCpu {
  if ('self' in source) {
    // process.cpuUsage() is in µs, finer than /proc's 10 ms ticks.
    const { user, system } = process.cpuUsage();
    return { ownMs: (user + system) / 1000, childrenMs: 0 };
  }
  return readProcessCpu(source.pid);
}

/** Reads every source at once, plus the machine's total (its `ownMs`). */
export function readCpu(sources: readonly CpuSource[]): CpuReading {
  const reading: Record<string, ProcessCpu> = {};
  for (const source of sources) reading[source.label] = readSource(source);
  return { ...reading, machine: { ownMs: readMachineBusyMs(), childrenMs: 0 } };
}

/** after − before, per label (own and children). */
export function cpuSpent(before: CpuReading, after: CpuReading): Record<string, ProcessCpu> {
  return Object.fromEntries(
    Object.keys(after).map((label) => [
      label,
      {
        ownMs: after[label]!.ownMs - (before[label]?.ownMs ?? 0),
        childrenMs: after[label]!.childrenMs - (before[label]?.childrenMs ?? 0),
      },
    ]),
  );
}
