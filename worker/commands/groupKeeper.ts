// The agent's process-group keeper: a small /bin/sh process that SIGKILLs every command's process group once the agent is gone.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/**
 * No process outlives its command, even when the agent is SIGKILLed. Every shell command leads its own
 * process group (spawned `detached`). One keeper per agent process, a `/bin/sh` loop (about 1 MB, started
 * once, on the first command), reads `+PGID` and `-PGID` lines on a pipe from the agent. When the pipe ends
 * (the agent exited, crashed or was SIGKILLed: the kernel closes its end) it sends SIGKILL to every group
 * still listed. The keeper leads a group of its own and ignores INT, TERM, HUP and QUIT, so a Ctrl-C or a
 * `kill` aimed at the agent's group does not take it down before the agent.
 *
 * Why not one supervisor process per command: a node supervisor costs ~150 ms and ~40 MB per command here,
 * and a shell one cannot report its child's exit signal exactly. The keeper needs neither: the agent still
 * spawns the command itself and reads its status.
 *
 * Residual: an agent SIGKILLed in the microseconds between spawn() and the write of the `+PGID` line leaves
 * that group unlisted; a process that leaves its group (setsid, setpgid, a daemon) is not followed; a keeper
 * killed by hand (`kill -9`, which it cannot ignore) protects nothing any more.
 */
const KEEPER_SCRIPT = `
trap '' INT TERM HUP QUIT PIPE
echo ready
exec 1>/dev/null
groups=' '
while IFS= read -r line; do
  case $line in
    +*) groups="$groups\${line#+} " ;;
    -*) g=\${line#-}
        case $groups in *" $g "*) groups="\${groups%% $g *} \${groups#* $g }" ;; esac ;;
  esac
done
for g in $groups; do kill -9 -$g 2>/dev/null; done
`;

/*
 * Ready before the first command: spawn() returns once the keeper is forked, not once it runs /bin/sh, and on a
 * loaded machine a command started at once could run (and its agent be SIGKILLed) before the keeper had even
 * exec'd. A clean-clone CI run lost that race: the group it should have killed outlived the agent (reproduced
 * 2 times in 6 with two busy loops beside the test, 0 in 16 once the agent waits for the keeper's `ready`).
 */
class GroupKeeper {
  private readonly child: ChildProcess;
  /** Resolves once the keeper runs its loop (it says `ready`), or has failed to start (commands run anyway). */
  readonly ready: Promise<void>;

  constructor() {
    this.child = spawn('/bin/sh', ['-c', KEEPER_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const stdout = this.child.stdout!;
    this.ready = new Promise<void>((resolve) => {
      stdout.once('data', () => resolve());
      stdout.once('close', () => resolve());
      this.child.once('error', () => resolve());
    });
    void this.ready.then(() => (stdout as NodeJS.ReadableStream & { unref?: () => void }).unref?.());
    // Neither the keeper nor its pipe keeps the agent running; the agent's exit is what the keeper waits for.
    this.child.unref();
    const stdin = this.child.stdin! as NodeJS.WritableStream & { unref?: () => void };
    stdin.unref?.();
    this.child.stdin!.on('error', () => {
      // The keeper is gone (killed by hand): commands still run; nothing to report per command.
    });
  }

  /** Lists a command's process group: SIGKILLed if the agent dies before release(). */
  watch(pgid: number): void {
    this.child.stdin!.write(`+${pgid}\n`);
  }

  /** The command has ended and its group is gone: no longer listed. */
  release(pgid: number): void {
    this.child.stdin!.write(`-${pgid}\n`);
  }

  /** The keeper's pid (tests). */
  get pid(): number | undefined {
    return this.child.pid;
  }
}

let keeper: GroupKeeper | undefined;

/** This process's keeper, started on first use. */
export function groupKeeper(): GroupKeeper {
  keeper ??= new GroupKeeper();
  return keeper;
}
