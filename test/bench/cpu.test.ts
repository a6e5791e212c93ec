/**
 * bench/lib/cpu.ts reads CPU time from Linux's /proc: a process's own time grows with the work it does,
 * a reaped child's time lands in its parent's children time, and a missing process is a typed error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { ProcStatError, cpuSpent, readCpu, readProcessCpu } from '../../bench/lib/cpu.ts';

function burn(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('bench/lib/cpu.ts', () => {
  it("counts this process's own CPU time as it works", () => {
    // Prepare
    const before = readProcessCpu(process.pid);
    // Act
    burn(200);
    const after = readProcessCpu(process.pid);
    // Assess: /proc counts in 10 ms ticks, so 200 ms of work shows as at least 150.
    assert.ok(after.ownMs - before.ownMs >= 150, `own CPU grew by ${after.ownMs - before.ownMs} ms`);
  });

  it("counts a reaped child's CPU time as the parent's children time", () => {
    // Prepare
    const before = readProcessCpu(process.pid);
    // Act: the child burns 300 ms of CPU and is waited for.
    spawnSync(process.execPath, ['-e', 'const u = Date.now() + 300; while (Date.now() < u);']);
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
    burn(100);
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
