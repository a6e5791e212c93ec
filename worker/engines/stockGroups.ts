// The process groups of the stock worker's commands: found in /proc as they start, killed when the stock worker is gone.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { processExists } from '../../shared/processes.ts';
import { groupKeeper } from '../commands/groupKeeper.ts';

/**
 * The stock worker runs each command's process in a group of its own (3.7 runprocess.py: setpgrp for a pipe,
 * a new session for a pty), so killing the stock worker, or its group, leaves them running: a `sleep 300`
 * outlived a SIGKILLed stock worker by its whole length. Our own worker lists its commands' groups with the
 * group keeper (worker/commands/groupKeeper.ts); for the stock worker the agent finds them itself. Right after
 * the stock worker has answered a start_command (it forks before it answers), the agent reads its direct
 * children (/proc/PID/task/PID/children: Twisted forks from its one thread) and lists each child's group:
 * here, and with the group keeper, so that an agent SIGKILLed too still takes them down. When the stock
 * worker exits, for whatever reason, every listed group that still exists gets SIGKILL. A group is unlisted
 * once it is gone (checked at each command's end, and again just before the kill), so a later process that
 * reuses the number is not hit; and the group leader's start time, read at the scan, is read again before
 * the kill: a leader with another start time is a new process under the old number, and its group is spared.
 * (Linux keeps a pid from reuse while a group of that number has a member, so a leader that is gone while
 * its group lives is still the group we listed.)
 *
 * Residual: a process the command starts in a group of its own (setsid, a daemon) is not followed, as with
 * our worker; /proc is Linux's (elsewhere nothing is found and nothing changes).
 */
/** How long a forked child may take to lead its own group before the scan gives up on it. @default 500 ms */
const SETTLE_MS = 500;
const SCAN_RETRY_MS = 25;

export interface StockGroupsOptions {
  /**
   * A process's start time (/proc/PID/stat field 22, clock ticks since boot), or undefined when it is gone.
   * A seam for tests, as Buildbot's _test_timing_hook: a test gives one that changes, as a reused pid would.
   * @default startTimeOf, from /proc
   */
  readStartTime?: (pid: number) => string | undefined;
}

export class StockGroups {
  /** Listed group → its leader's start time at the scan. */
  private readonly groups = new Map<number, string>();
  private readonly readStartTime: (pid: number) => string | undefined;

  constructor(opts: StockGroupsOptions = {}) {
    this.readStartTime = opts.readStartTime ?? startTimeOf;
  }

  /**
   * Lists the groups of the stock worker's children (`pid`: the stock worker's). A child that has not yet left
   * the stock worker's group (forked, but its setpgrp/setsid not run yet: a clean-clone CI run missed one of
   * two that way) is looked at again, every 25 ms for up to SETTLE_MS.
   */
  async scan(pid: number | undefined): Promise<void> {
    if (pid === undefined) return;
    for (let waited = 0; ; waited += SCAN_RETRY_MS) {
      const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
      let unsettled = false;
      for (const word of children.split(' ')) {
        const child = Number(word);
        if (!Number.isInteger(child) || child <= 0) continue;
        const group = await groupOf(child);
        // Only a child that leads its own group: one still in the stock worker's group goes with it.
        if (group !== child) {
          unsettled ||= group !== undefined;
          continue;
        }
        if (this.groups.has(group)) continue;
        const started = this.readStartTime(group);
        if (started === undefined) continue; // gone already: nothing to kill later
        this.groups.set(group, started);
        groupKeeper().watch(group);
      }
      if (!unsettled || waited >= SETTLE_MS) return;
      await sleep(SCAN_RETRY_MS);
    }
  }

  /** Unlists the groups that are gone. */
  prune(): void {
    for (const group of this.groups.keys())
      if (!processExists(-group)) {
        this.groups.delete(group);
        groupKeeper().release(group);
      }
  }

  /**
   * SIGKILLs every listed group that still exists and whose leader, if still there, is the process the scan
   * saw; unlists them all; answers how many were killed.
   */
  killAll(): number {
    this.prune();
    let killed = 0;
    for (const [group, started] of this.groups) {
      const now = this.readStartTime(group);
      if (now !== undefined && now !== started) {
        groupKeeper().release(group);
        continue; // the number was reused: not ours to kill
      }
      try {
        process.kill(-group, 'SIGKILL');
        killed++;
      } catch {
        // ESRCH: it ended by itself meanwhile.
      }
      groupKeeper().release(group);
    }
    this.groups.clear();
    return killed;
  }

  /** The listed groups (tests). */
  get listed(): number[] {
    return [...this.groups.keys()];
  }
}

/** A process's start time, /proc/PID/stat field 22 (clock ticks after boot), or undefined when it is gone. */
export function startTimeOf(pid: number): string | undefined {
  const stat = readStat(pid);
  return stat === undefined ? undefined : statFields(stat)[19];
}

/** /proc/PID/stat's text, or undefined when the process is gone (or there is no /proc). */
function readStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The fields after "pid (comm) ": comm may hold spaces and parentheses, so they are read after the last ')'. */
function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** A process's group id from /proc/PID/stat (the field after state and ppid), or undefined when it is gone. */
async function groupOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // "pid (comm) state ppid pgrp ...": state is the first field after comm.
  const group = Number(statFields(stat)[2]);
  return Number.isInteger(group) ? group : undefined;
}
