// Starts the emulator supervisor (emulators.ts) as a child process, waits for its ready line, follows its restarts, and ends it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import * as ENV from '../shared/config.ts';
import { EmulatorError } from './errors.ts';
import type { EmulatorsReady } from './emulators.ts';

/** How long the supervisor may take to report both emulators ready. */
const READY_TIMEOUT_MS = 60_000;
/** How long stop() waits for the supervisor to exit after closing its stdin, before SIGKILL. */
const EXIT_TIMEOUT_MS = 5_000;

export interface Supervisor extends EmulatorsReady {
  /** DynamoDB Local's current process: it changes when the supervisor restarts java. */
  readonly javaPid: number;
  /** Closes the supervisor's stdin (it kills java and exits) and resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last resort for process 'exit': SIGKILL java and the supervisor. */
  killNow(): void;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** Spawns local/emulators.ts (`node --import tsx`) and waits for its ready line. */
export async function startSupervisor(opts: {
  persistDir?: string;
  log: (line: string) => void;
}): Promise<Supervisor> {
  const script = fileURLToPath(new URL('./emulators.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const args = ['--import', tsx, script, ...(opts.persistDir ? ['--persist', opts.persistDir] : [])];
  const child = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The SDK's Node-version notice is noise in every test's output.
    env: { ...process.env, [ENV.awsSdkSuppressNodeDeprecationWarning]: '1', [ENV.nodeNoWarnings]: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) opts.log(`[emulators] ${line}`);
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<EmulatorsReady>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new EmulatorError(`emulators not ready after ${READY_TIMEOUT_MS} ms`, { details: { stderr } }));
    }, READY_TIMEOUT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      const message = JSON.parse(line) as EmulatorsReady | { error: string };
      if ('error' in message) reject(new EmulatorError(message.error, { details: { stderr } }));
      else resolveReady(message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new EmulatorError(`emulator supervisor exited early (code ${code}, signal ${signal})`, {
          details: { stderr },
        }),
      );
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new EmulatorError(`cannot spawn the emulator supervisor: ${error.message}`, { cause: error }));
    });
  });
  // Later lines report java's restarts; the port stays, the pid changes.
  let javaPid = ready.javaPid;
  lines.on('line', (line) => {
    try {
      const event = JSON.parse(line) as { event?: string; javaPid?: number };
      if (event.event === 'javaRestarted' && typeof event.javaPid === 'number') {
        javaPid = event.javaPid;
        opts.log(`[emulators] DynamoDB Local restarted (pid ${javaPid})`);
      }
    } catch {
      opts.log(`[emulators] ${line}`);
    }
  });
  // From here the stack's own handles (gateway, pollers) keep the process alive; the supervisor must not, so a
  // test that forgets stop() still ends (and the supervisor follows, as its stdin closes).
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void })?.unref?.();

  let stopped: Promise<void> | undefined;
  return {
    ...ready,
    get javaPid() {
      return javaPid;
    },
    stop() {
      stopped ??= (async () => {
        const gone = exited(child);
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
        await gone;
        clearTimeout(timer);
      })();
      return stopped;
    },
    killNow() {
      for (const pid of [javaPid, ready.pid]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch (error) {
          // Already gone is what we want; anything else (EPERM) is a real surprise.
          if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
        }
      }
    },
  };
}
