// Starts the emulator supervisor (emulators.ts) as a child process, follows and repairs its restarts, and ends it.
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
/** Supervisor restarts in a row that may fail before the stack gives up on its emulators. */
const RESTART_ATTEMPTS = 3;

export interface Supervisor extends EmulatorsReady {
  /** The supervisor's current process: it changes when a dead supervisor is started again. */
  readonly pid: number;
  /** DynamoDB Local's current process: it changes when the supervisor restarts java. */
  readonly javaPid: number;
  /** Supervisor restarts completed, onRestart included (a test or the chaos suite waits on it). */
  readonly restarts: number;
  /** Closes the supervisor's stdin (it kills java and exits) and resolves once it is gone. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous last resort for process 'exit': SIGKILL java and the supervisor. */
  killNow(): void;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

/** SIGKILL of a supervisor's process group: it and the java it started (which a SIGKILLed supervisor cannot stop). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    // Already gone is what we want; anything else (EPERM) is a real surprise.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/** Spawns local/emulators.ts (`node --import tsx`) and waits for its ready line. */
async function launch(
  extraArgs: string[],
  log: (line: string) => void,
): Promise<{ child: ChildProcess; ready: EmulatorsReady; lines: ReturnType<typeof createInterface> }> {
  const script = fileURLToPath(new URL('./emulators.ts', import.meta.url));
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, script, ...extraArgs], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: a supervisor given up on (not ready in time) goes with the java it started, which
    // would otherwise keep the port and serve stale data beside the next attempt's.
    detached: true,
    // The SDK's Node-version notice is noise in every test's output.
    env: { ...process.env, [ENV.awsSdkSuppressNodeDeprecationWarning]: '1', [ENV.nodeNoWarnings]: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(`[emulators] ${line}`);
  });
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<EmulatorsReady>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid);
      reject(new EmulatorError(`emulators not ready after ${READY_TIMEOUT_MS} ms`, { details: { stderr } }));
    }, READY_TIMEOUT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      let message: EmulatorsReady | { error: string };
      try {
        message = JSON.parse(line) as EmulatorsReady | { error: string };
      } catch {
        reject(
          new EmulatorError(`emulator supervisor said ${JSON.stringify(line)}, not its ready line`, {
            details: { stderr },
          }),
        );
        return;
      }
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
  // From here the stack's own handles (gateway, pollers) keep the process alive; the supervisor must not, so a
  // test that forgets stop() still ends (and the supervisor follows, as its stdin closes).
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as unknown as { unref?: () => void })?.unref?.();
  return { child, ready, lines };
}

/**
 * Starts the emulator supervisor. If it dies while the stack runs (killed, crashed), it is started again on the
 * same ports and data directory, after its orphaned java is killed, and `onRestart` runs (the stack recreates
 * its queues there: fauxqs keeps them in memory). Java dying alone is repaired inside the supervisor.
 */
export async function startSupervisor(opts: {
  persistDir?: string;
  /** Listen on these ports rather than free ones (a stack started again on the same data keeps its URLs). */
  ports?: { dynamodb: number; sqs: number };
  log: (line: string) => void;
  onRestart?: () => Promise<void>;
}): Promise<Supervisor> {
  const persistArgs = opts.persistDir ? ['--persist', opts.persistDir] : [];
  const fixedPorts = opts.ports
    ? ['--dynamodb-port', String(opts.ports.dynamodb), '--sqs-port', String(opts.ports.sqs)]
    : [];
  const first = await launch([...persistArgs, ...fixedPorts], opts.log);
  const ports = [
    '--dynamodb-port',
    String(first.ready.dynamodbPort),
    '--sqs-port',
    String(first.ready.sqsPort),
  ];
  let child = first.child;
  let pid = first.ready.pid;
  let javaPid = first.ready.javaPid;
  let stopping = false;
  let restarting: Promise<void> | undefined;
  let restarts = 0;

  const follow = (running: Awaited<ReturnType<typeof launch>>): void => {
    // Later lines report java's restarts; the port stays, the pid changes.
    running.lines.on('line', (line) => {
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
    running.child.once('exit', (code, signal) => {
      if (stopping) return;
      opts.log(`[emulators] supervisor exited (code ${code}, signal ${signal}); restarting it`);
      restarting = restart().catch((error: unknown) => {
        opts.log(`[emulators] supervisor restart failed: ${(error as Error).message}`);
      });
    });
  };

  const restart = async (): Promise<void> => {
    for (let attempt = 1; attempt <= RESTART_ATTEMPTS && !stopping; attempt++) {
      // A supervisor killed by SIGKILL could not kill its java, which still holds the DynamoDB port.
      killQuietly(javaPid);
      let running;
      try {
        running = await launch([...persistArgs, ...ports], opts.log);
      } catch (error) {
        opts.log(`[emulators] supervisor restart ${attempt} failed: ${(error as Error).message}`);
        continue;
      }
      // stop() waits for this restart, then ends whichever supervisor is current.
      child = running.child;
      pid = running.ready.pid;
      javaPid = running.ready.javaPid;
      if (stopping) return;
      follow(running);
      try {
        await opts.onRestart?.();
      } catch (error) {
        opts.log(`[emulators] after the supervisor restart: ${(error as Error).message}`);
      }
      restarts++;
      return;
    }
  };
  follow(first);

  let stopped: Promise<void> | undefined;
  return {
    ...first.ready,
    get pid() {
      return pid;
    },
    get javaPid() {
      return javaPid;
    },
    get restarts() {
      return restarts;
    },
    stop() {
      stopping = true;
      stopped ??= (async () => {
        await restarting;
        const gone = exited(child);
        child.stdin?.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS);
        await gone;
        clearTimeout(timer);
      })();
      return stopped;
    },
    killNow() {
      stopping = true;
      for (const each of [javaPid, pid]) killQuietly(each);
    },
  };
}
