// StockGroups on its own: a group is listed at the scan, unlisted once gone, and spared when its number was reused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { processExists } from '../../shared/processes.ts';
import { StockGroups, startTimeOf } from '../../worker/engines/stockGroups.ts';
import { waitFor } from '../support/wait.ts';

const linux = process.platform === 'linux' ? false : 'StockGroups reads /proc (Linux)';
const parents: ChildProcess[] = [];

/**
 * A stand-in for the stock worker: a shell whose one child, `sleep SECONDS`, leads a group of its own (setsid, as
 * 3.7's runprocess does with setpgrp), resolved once that child has left the shell's group. The scan is given the
 * shell's pid, not ours: our own children include the group keeper, which leads a group too.
 */
async function stockStandIn(seconds: number): Promise<{ parent: number; group: number }> {
  const proc = spawn('/bin/sh', ['-c', `setsid sleep ${seconds} & wait`], { stdio: 'ignore' });
  parents.push(proc);
  const parent = proc.pid!;
  const group = await waitFor(`the sleep under ${parent} to lead its group`, () => {
    const child = Number(readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim() || 0);
    if (child <= 0) return undefined;
    const stat = readFileSync(`/proc/${child}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === child ? child : undefined;
  });
  return { parent, group };
}

describe('StockGroups', { skip: linux }, () => {
  after(() => {
    for (const proc of parents) proc.kill('SIGKILL');
  });

  it('unlists a group once it has ended, so that nothing of it is killed', async () => {
    // Prepare
    const groups = new StockGroups();
    const { parent, group } = await stockStandIn(0.3);
    await groups.scan(parent);
    assert.deepEqual(groups.listed, [group]);
    await waitFor(`group ${group} to end`, () => !processExists(-group), 5_000);

    // Act
    groups.prune();

    // Assess
    assert.deepEqual(groups.listed, []);
    assert.equal(groups.killAll(), 0);
  });

  it('kills a listed group that still runs', async () => {
    // Prepare
    const groups = new StockGroups();
    const { parent, group } = await stockStandIn(30);
    await groups.scan(parent);

    // Act
    const killed = groups.killAll();

    // Assess
    assert.equal(killed, 1);
    await waitFor(`group ${group} to be gone`, () => !processExists(-group), 5_000);
    assert.deepEqual(groups.listed, []);
  });

  it('spares a group whose leader has another start time than at the scan (its number was reused)', async () => {
    // Prepare: the leader reads as started later than the scan saw, as a new process under the old number would
    let reads = 0;
    const groups = new StockGroups({
      readStartTime: (pid) => (reads++ === 0 ? startTimeOf(pid) : `${startTimeOf(pid)}0`),
    });
    const { parent, group } = await stockStandIn(30);
    await groups.scan(parent);
    assert.deepEqual(groups.listed, [group]);

    // Act
    const killed = groups.killAll();

    // Assess
    assert.equal(killed, 0);
    assert.equal(processExists(-group), true);
    assert.deepEqual(groups.listed, []);
    process.kill(-group, 'SIGKILL');
  });

  it('reads the same start time of a process each time, and none of a pid that is not there', async () => {
    // Prepare
    const { group } = await stockStandIn(30);

    // Assess
    assert.match(startTimeOf(group) ?? '', /^\d+$/);
    assert.equal(startTimeOf(group), startTimeOf(group));
    assert.equal(startTimeOf(2 ** 22 + 1), undefined);
    process.kill(-group, 'SIGKILL');
  });
});
