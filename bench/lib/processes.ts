// Owns running child processes for the benchmarks, timed.
import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';

export class ChildProcessError extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, stderr: string) {
    super(`${command} exited with ${exitCode}: ${stderr.trim().slice(-2000)}`);
    this.name = 'ChildProcessError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export interface TimedRun {
  stdout: string;
  /** Wall time from spawn to exit, as the parent sees it. */
  wallMs: number;
}

/** Runs a program to completion; rejects on a non-zero exit with its stderr as evidence. */
export function runTimed(command: string, args: string[], opts: SpawnOptions = {}): Promise<TimedRun> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - start;
      if (code === 0) resolvePromise({ stdout, wallMs });
      else reject(new ChildProcessError(`${command} ${args.join(' ').slice(0, 200)}`, code, stderr));
    });
  });
}

/**
 * A child speaking newline-delimited JSON on stdin/stdout: the parent sends one request line, the child
 * answers one line. Used as a barrier so that process start-up is never inside a measurement.
 */
export interface LineChild {
  /** The child's process id (to read its CPU time). */
  readonly pid: number;
  send(message: unknown): void;
  /** The next line the child prints, parsed. Rejects if the child exits first. */
  next<T>(): Promise<T>;
  /** Closes stdin (the child's cue to finish) and waits for a zero exit. */
  close(): Promise<void>;
}

export function spawnLineChild(script: string, args: string[], env: NodeJS.ProcessEnv): LineChild {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { resolve: (line: string) => void; reject: (error: Error) => void }[] = [];
  let buffered = '';
  let stderr = '';
  let exited: ChildProcessError | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const waiter = waiters.shift();
      if (waiter) waiter.resolve(line);
      else lines.push(line);
    }
  });
  const closed = new Promise<void>((resolveClosed, rejectClosed) => {
    child.on('close', (code) => {
      exited = new ChildProcessError(script, code, stderr);
      for (const waiter of waiters.splice(0)) waiter.reject(exited);
      if (code === 0) resolveClosed();
      else rejectClosed(exited);
    });
  });
  // A failure is reported by next() or close(); keep Node from calling it unhandled in between.
  closed.catch(() => undefined);
  return {
    pid: child.pid ?? 0,
    send(message) {
      child.stdin.write(`${JSON.stringify(message)}\n`);
    },
    next<T>() {
      const line = lines.shift();
      if (line !== undefined) return Promise.resolve(JSON.parse(line) as T);
      if (exited) return Promise.reject(exited);
      return new Promise<string>((resolveLine, reject) =>
        waiters.push({ resolve: resolveLine, reject }),
      ).then((text) => JSON.parse(text) as T);
    },
    close() {
      child.stdin.end();
      return closed;
    },
  };
}
