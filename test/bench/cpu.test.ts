/**
 * bench/lib/cpu.ts reads CPU time from Linux's /proc: a process's own time grows with the work it does,
 * a reaped child's time lands in its parent's children time, and a missing process is a typed error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ProcStatError, cpuSpent, readCpu, readProcessCpu } from '../../bench/lib/cpu.ts';

/** A spin that a starved machine cannot stretch forever: past this, the CPU was not given and the test fails. */
const SPIN_LIMIT_MS = 30_000;

/**
 * Spins until this process has spent `ms` of CPU time by its own count (process.cpuUsage, user + system), however
 * long that takes in wall time: on a loaded machine a 200 ms wall-clock spin got as little as 39 ms of CPU.
 */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  const giveUp = performance.now() + SPIN_LIMIT_MS;
  for (;;) {
    const { user, system } = process.cpuUsage(start);
    if ((user + system) / 1000 >= ms || performance.now() > giveUp) return;
  }
}

/** The same spin as a one-line script for a child process. */
const CHILD_BURNS_300_MS =
  'const s = process.cpuUsage(); for (;;) { const u = process.cpuUsage(s); if (u.user + u.system >= 300_000) break; }';

describe('bench/lib/cpu.ts', () => {
  it("counts this process's own CPU time as it works", () => {
    // Prepare
    const before = readProcessCpu(process.pid);
    // Act
    burnCpu(200);
    const after = readProcessCpu(process.pid);
    // Assess: /proc counts in 10 ms ticks, so 200 ms of CPU shows as at least 150.
    assert.ok(after.ownMs - before.ownMs >= 150, `own CPU grew by ${after.ownMs - before.ownMs} ms`);
  });

  it("counts a reaped child's CPU time as the parent's children time", () => {
    // Prepare
    const before = readProcessCpu(process.pid);
    // Act: the child burns 300 ms of CPU by its own count and is waited for.
    spawnSync(process.execPath, ['-e', CHILD_BURNS_300_MS]);
    const after = readProcessCpu(process.pid);
    // Assess
    assert.ok(
      after.childrenMs - before.childrenMs >= 200,
      `children grew by ${after.childrenMs - before.childrenMs}`,
    );
  });

  it('reports what each source and the machine spent between two readings', () => {
    // Prepare
    const sources = [
      { label: 'self', self: true as const },
      { label: 'byPid', pid: process.pid },
    ];
    const before = readCpu(sources);
    // Act
    burnCpu(100);
    const spent = cpuSpent(before, readCpu(sources));
    // Assess
    assert.ok(spent.self!.ownMs >= 90, `self spent ${spent.self!.ownMs}`);
    assert.ok(spent.byPid!.ownMs >= 50, `byPid spent ${spent.byPid!.ownMs}`);
    assert.ok(spent.machine!.ownMs >= 50, `machine spent ${spent.machine!.ownMs}`);
  });

  it('throws ProcStatError for a process that does not exist', () => {
    // Assess: pid_max is at most 2^22, so this pid cannot exist.
    assert.throws(() => readProcessCpu(2 ** 23), ProcStatError);
  });
});
