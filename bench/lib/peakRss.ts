// Owns a process's peak resident memory on Linux: reset before a workload, read after it (the worker's memory while it uploads).
import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Resets the peak RSS the kernel keeps for `pid` (VmHWM), by writing 5 to its clear_refs (Linux 4.0 and later;
 * the process must be ours). Returns false where that is not possible: the peak is then since the process began.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** The peak RSS of `pid` in bytes (VmHWM), or undefined off Linux or once the process has gone. */
export function peakRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
