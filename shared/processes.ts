// Whether a process (or a process group) exists: signal 0, as kill(2) defines it.

/**
 * True when `pid` names a live process, or with a negative `pid` a process group that still has a member
 * (kill(2): signal 0 checks without sending). EPERM means it exists but belongs to another user; ESRCH, that it is gone.
 */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
