// Buildbot's runprocess.py: one program in its own process group, its output streamed, its timeouts and its kill sequence.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { CommandStartError } from '../errors.ts';
import { openedOutside } from '../paths.ts';
import { errnoOf, strerror } from './osError.ts';
import { groupKeeper } from './groupKeeper.ts';
import { LogFileWatcher } from './logFileWatcher.ts';
import { countLines, environmentHeader, pyRepr, workdirHeader } from './shellFormat.ts';
import type { ShellArgv } from './shellFormat.ts';
import type { CommandContext, StartedCommand } from './types.ts';

/** After the last SIGKILL, how long to wait for the pipes to close before giving up on them. @default 1000 */
const PIPE_DRAIN_MS = 1_000;
/** After the last signal of a kill, how long a process may take to end before it is given up on (Buildbot's BACKUP_TIMEOUT). @default 5000 */
export const KILL_BACKUP_MS = 5_000;

/** What RunProcess runs, as parseShellArgs (shell.ts) reads it from a command's args. */
export interface ShellOptions {
  argv: ShellArgv;
  workdir: string;
  env: Record<string, string>;
  timeout?: number;
  maxTime?: number;
  maxLines?: number;
  sigtermTime?: number;
  interruptSignal?: string;
  wantStdout: boolean;
  wantStderr: boolean;
  initialStdin?: string;
  /** `filename` resolved; `shown` as the client gave it (the header shows that, as Buildbot's does). */
  logfiles: Record<string, { filename: string; shown: string; follow: boolean }>;
  logEnviron: boolean;
  /** Runs on a pseudo-terminal (argv.real is then wrapped in util-linux `script`: shell.ts ptyArgv). */
  usePTY: boolean;
  /** The worker's own environment, which the environment header sums up where the command leaves it unchanged. */
  inheritedEnv: NodeJS.ProcessEnv;
}

export function signalNumber(name: string): number {
  return osConstants.signals[`SIG${name}` as keyof typeof osConstants.signals] ?? 0;
}

/** "[Errno 2] No such file or directory: 'nosuch'", as Python words an OSError. */
function osErrorText(error: NodeJS.ErrnoException, subject: string): string {
  return `[Errno ${errnoOf(error)}] ${strerror(error)}: ${pyRepr(subject)}`;
}

export class RunProcess implements StartedCommand {
  readonly done: Promise<void>;
  private child: ChildProcess | undefined;
  private readonly watchers: LogFileWatcher[] = [];
  private ioTimer: NodeJS.Timeout | undefined;
  private maxTimer: NodeJS.Timeout | undefined;
  private sigtermTimer: NodeJS.Timeout | undefined;
  private backupTimer: NodeJS.Timeout | undefined;
  /** The child's pipes closed (it and everything holding them ended). */
  private closed = false;
  /** The kill sequence gave up on the process (giveUp): its rc was sent already. */
  private gaveUp = false;
  private drainTimer: NodeJS.Timeout | undefined;
  private killed = false;
  /** Its pipes are paused while the update sender is backlogged (holdWhileBacklogged). */
  private held = false;
  private lineCount = 0;
  private outputClosed = false;
  private startedAt = 0;
  private resolveDone!: () => void;
  private rejectDone!: (error: Error) => void;

  constructor(
    private readonly ctx: CommandContext,
    private readonly opts: ShellOptions,
    /** The base directory's real path: a logfile is read only when what was opened lies inside it. */
    private readonly realBase: string,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
  }

  private header(text: string): void {
    this.ctx.send({ header: text });
  }

  async start(): Promise<void> {
    const { opts } = this;
    await mkdir(opts.workdir, { recursive: true });
    this.header(`${opts.argv.display}\n`);
    this.header(workdirHeader(opts.workdir, opts.timeout, opts.maxTime));
    this.header(
      ` watching logfiles ${pyRepr(Object.fromEntries(Object.entries(opts.logfiles).map(([k, v]) => [k, v.shown])))}\n`,
    );
    this.header(` argv: ${pyRepr(opts.argv.fake)}\n`);
    if (opts.logEnviron) this.header(environmentHeader(opts.env, opts.inheritedEnv));
    if (opts.initialStdin) this.header(` writing ${Buffer.byteLength(opts.initialStdin)} bytes to stdin\n`);
    this.header(` using PTY: ${opts.usePTY ? 'True' : 'False'}\n`);

    for (const [name, { filename, follow }] of Object.entries(opts.logfiles)) {
      const watcher = new LogFileWatcher({
        name,
        file: filename,
        follow,
        onData: (log, text) => {
          this.ctx.send({ log: [log, text] });
          this.resetIoTimer();
        },
        onNote: (text) => this.header(text),
        check: (handle) => openedOutside(handle, filename, this.realBase),
      });
      await watcher.prepare();
      this.watchers.push(watcher);
    }

    const [file, ...rest] = opts.argv.real;
    // The keeper runs before the command exists (groupKeeper.ts): a no-op wait after the first command.
    await groupKeeper().ready;
    // detached: the child leads its own process group, so a kill reaches everything it started.
    const child = spawn(file!, rest, { cwd: opts.workdir, env: opts.env, detached: true, stdio: 'pipe' });
    this.child = child;
    // Listed at once (the pid is known as spawn returns): the keeper kills the group if the agent dies.
    if (child.pid !== undefined) groupKeeper().watch(child.pid);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (error: NodeJS.ErrnoException) => {
        const text = `error in RunProcess._startCommand (${osErrorText(error, file!)})`;
        this.ctx.send({ stderr: `${text}\n` });
        reject(new CommandStartError(text, { cause: error }));
      });
    });
    this.startedAt = performance.now();
    child.on('error', (error) =>
      this.ctx.log(`command ${this.ctx.commandId}: process error: ${error.message}`),
    );

    child.stdin!.on('error', () => {
      // The program exited without reading its stdin (EPIPE): nothing to report.
    });
    child.stdin!.end(opts.initialStdin ?? '');
    const stdout = new StringDecoder('utf8');
    const stderr = new StringDecoder('utf8');
    child.stdout!.on('data', (data: Buffer) => {
      this.output('stdout', stdout.write(data));
      this.holdWhileBacklogged();
    });
    child.stderr!.on('data', (data: Buffer) => {
      this.output('stderr', stderr.write(data));
      this.holdWhileBacklogged();
    });
    child.once('exit', () => {
      // Something outside the group may hold the pipes open; once we have killed, do not wait on it.
      if (this.killed) this.drainTimer = setTimeout(() => this.closePipes(), PIPE_DRAIN_MS);
    });
    child.once('close', (code, signal) => {
      this.closed = true;
      // Given up on already (giveUp sent rc -1): a process that ends after all changes nothing.
      if (this.gaveUp) return;
      this.endGroup();
      this.output('stdout', stdout.end());
      this.output('stderr', stderr.end());
      this.finished(code, signal).then(this.resolveDone, this.rejectDone);
    });

    if (opts.timeout) this.resetIoTimer();
    if (opts.maxTime)
      this.maxTimer = setTimeout(() => {
        this.ctx.send({ failure_reason: 'timeout' });
        this.kill(`command timed out: ${opts.maxTime} seconds elapsed running ${opts.argv.display}`);
      }, opts.maxTime * 1000);
    for (const watcher of this.watchers) watcher.start();
  }

  interrupt(_why: string): void {
    this.kill('command interrupted');
  }

  private output(stream: 'stdout' | 'stderr', text: string): void {
    if (text === '') return;
    this.resetIoTimer();
    const wanted = stream === 'stdout' ? this.opts.wantStdout : this.opts.wantStderr;
    if (!wanted || this.outputClosed) return;
    this.ctx.send({ [stream]: text });
    if (this.opts.maxLines === undefined) return;
    this.lineCount += countLines(text);
    if (this.lineCount > this.opts.maxLines) {
      // As Buildbot closes stdout: nothing more is sent once the limit is passed.
      this.outputClosed = true;
      this.ctx.send({ failure_reason: 'max_lines_failure' });
      this.kill(
        `command exceeds max lines: ${this.lineCount}/${this.opts.maxLines} written/allowed running ${this.opts.argv.display}`,
      );
    }
  }

  /**
   * Pauses both pipes while the sender holds its bound of unsent output (worker/updateSender.ts): the
   * process then blocks on its writes, so the worker's memory stays bounded however fast it writes. The
   * no-output timer does not run meanwhile: the silence is ours, not the program's.
   */
  private holdWhileBacklogged(): void {
    if (this.held || this.killed) return;
    const drained = this.ctx.backlogged?.();
    if (drained === undefined) return;
    this.held = true;
    clearTimeout(this.ioTimer);
    this.child?.stdout?.pause();
    this.child?.stderr?.pause();
    void drained.then(() => {
      this.held = false;
      this.child?.stdout?.resume();
      this.child?.stderr?.resume();
      this.resetIoTimer();
    });
  }

  private resetIoTimer(): void {
    // Not once the process has ended: a logfile's last read (watcher.stop) still reports output then.
    if (!this.opts.timeout || this.killed || this.closed) return;
    clearTimeout(this.ioTimer);
    this.ioTimer = setTimeout(() => {
      this.ctx.send({ failure_reason: 'timeout_without_output' });
      this.kill(
        `command timed out: ${this.opts.timeout} seconds without output running ${this.opts.argv.display}`,
      );
    }, this.opts.timeout * 1000);
  }

  private cancelTimers(): void {
    for (const timer of [this.ioTimer, this.maxTimer, this.sigtermTimer, this.drainTimer, this.backupTimer])
      clearTimeout(timer);
  }

  /**
   * Buildbot's kill(): with sigtermTime, SIGTERM first and interruptSignal (KILL by default) after
   * sigtermTime seconds if the process is still there; without it, interruptSignal at once. Then, as
   * Buildbot's BACKUP_TIMEOUT, a process that has not ended KILL_BACKUP_MS after the last signal (one that
   * ignores the signal, or is stuck in the kernel) is given up on: headers say so and the command ends with
   * a fake rc of -1. Where Buildbot leaves such a process be, the group is SIGKILLed (no process outlives
   * its command).
   */
  private kill(message: string): void {
    if (this.killed || !this.child || this.closed) return;
    this.killed = true;
    this.cancelTimers();
    // A held process's last output is read at once: what a killed process still writes is small, and
    // the kill's own timers must not wait on the API.
    this.child.stdout?.resume();
    this.child.stderr?.resume();
    this.header(`\n${message}, attempting to kill\n`);
    const last = this.opts.interruptSignal ?? 'KILL';
    if (this.opts.sigtermTime === undefined) {
      this.signalGroup(last);
      this.backupTimer = setTimeout(() => this.giveUp(last), KILL_BACKUP_MS);
      return;
    }
    this.signalGroup('TERM');
    this.sigtermTimer = setTimeout(() => {
      if (this.closed) return;
      this.signalGroup(last);
      this.backupTimer = setTimeout(() => this.giveUp(last), KILL_BACKUP_MS);
    }, this.opts.sigtermTime * 1000);
  }

  /** Buildbot's doBackupTimeout: the process would not die; finish anyway. */
  private giveUp(signal: string): void {
    if (this.closed) return;
    this.gaveUp = true;
    this.header(`SIG${signal} failed to kill process\n`);
    this.header('using fake rc=-1\n');
    this.endGroup();
    this.closePipes();
    this.cancelTimers();
    void Promise.all(this.watchers.map((watcher) => watcher.stop())).then(() => {
      this.ctx.send({ rc: -1 });
      this.resolveDone();
    }, this.rejectDone);
  }

  private signalGroup(name: string): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, `SIG${name}` as NodeJS.Signals);
    } catch (error) {
      // ESRCH: the group is gone already; the close event is on its way.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') this.child?.kill(`SIG${name}` as NodeJS.Signals);
    }
  }

  /**
   * No process outlives its command: what the program left running in its group (a `sleep 600 &` that let go
   * of the pipes) is SIGKILLed, and the keeper forgets the group. Difference: Buildbot leaves them running.
   */
  private endGroup(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // ESRCH: nothing was left.
    }
    groupKeeper().release(pid);
  }

  private closePipes(): void {
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
  }

  private async finished(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    this.cancelTimers();
    for (const watcher of this.watchers) await watcher.stop();
    const elapsed = (performance.now() - this.startedAt) / 1000;
    let rc = code ?? -1;
    if (signal !== null) {
      rc = -1;
      this.header(`process killed by signal ${signalNumber(signal.slice(3))}\n`);
    } else if (this.killed && rc === 0) {
      // Buildbot: a killed process that still says 0 is reported as failed.
      rc = -1;
    }
    this.header(`program finished with exit code ${rc}\n`);
    this.header(`elapsedTime=${elapsed.toFixed(6)}\n`);
    this.ctx.send({ rc });
  }
}
