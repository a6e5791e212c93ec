// The buildbot-worker engine: creates the stock worker's directory, serves its master side, supervises its process.
import { spawn } from 'node:child_process';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CommandRegistry } from '../commands/registry.ts';
import { groupKeeper } from '../commands/groupKeeper.ts';
import { commandBaseEnvironment } from '../commands/shellFormat.ts';
import type { WorkerLogSink } from '../log.ts';
import { StockWorkerError } from './errors.ts';
import { MsgpackMaster } from './msgpackMaster.ts';
import { stockRegistry } from './stockCommands.ts';
import { StockGroups } from './stockGroups.ts';

const run = promisify(execFile);

export interface BuildbotWorkerEngineOptions {
  /** The agent's basedir; the stock worker's own directory is made inside it. */
  basedir: string;
  /** The buildbot-worker program. @default 'buildbot-worker' (found on PATH) */
  executable?: string;
  /** Seconds the stock worker may hold output (set_worker_settings buffer_timeout). @default 0.1 */
  bufferTimeout?: number;
  log: WorkerLogSink;
}

export interface BuildbotWorkerEngine {
  registry: CommandRegistry;
  /** The stock worker's directory (buildbot.tac, twistd.log). */
  workerDir: string;
  /** How many times the stock worker was started (1 + restarts). */
  readonly starts: number;
  /** The stock worker's pid now, if it runs. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** The stock worker's directory inside the agent's basedir. */
export const STOCK_WORKER_DIR = '.buildbot-worker';

/** The line of buildbot.tac after which the agent's setting goes (create-worker writes it; it imports Worker). */
const TAC_ANCHOR = 'from buildbot_worker.bot import Worker\n';

/**
 * 3.7's BuildbotWebSocketClientProtocol has `debug = True`: it logs the repr of every message both ways, and
 * Twisted formats a legacy log.msg when it is published, whatever the observer. Every byte of output and of
 * each transfer was so turned into text about four times its size and written to twistd.log: 12 MB files
 * rotating every second during a transfer, 0.25 s of the worker's CPU a MiB (cProfile: safe_str), and a
 * command's output kept on disk before the agent masked its secrets. The tac is the worker's own Python
 * configuration; the agent sets the class attribute there, the package stays as installed.
 */
const TAC_SETTING = `# Written by the bbs agent (worker/engines/stockWorker.ts): no repr of every protocol message in twistd.log.
from buildbot_worker.msgpack import BuildbotWebSocketClientProtocol
BuildbotWebSocketClientProtocol.debug = False
`;

/** Puts the agent's setting into the tac that create-worker wrote; false when the tac is not as expected. */
async function quietProtocolLog(workerDir: string): Promise<boolean> {
  const tac = path.join(workerDir, 'buildbot.tac');
  const text = await readFile(tac, 'utf8');
  if (!text.includes(TAC_ANCHOR)) return false;
  await writeFile(tac, text.replace(TAC_ANCHOR, `${TAC_ANCHOR}${TAC_SETTING}`), { mode: 0o600 });
  return true;
}

/** Wait before starting a worker that exited, so a worker that cannot start does not spin. */
const RESTART_DELAY_MS = 1000;

/**
 * Starts the engine: a msgpack master on 127.0.0.1 (random port, random password), `buildbot-worker
 * create-worker --force` pointed at it, then `buildbot-worker start --nodaemon`, started again whenever it
 * exits until stop(). Resolves once the stock worker has connected and answered the handshake.
 */
export async function startBuildbotWorkerEngine(
  opts: BuildbotWorkerEngineOptions,
): Promise<BuildbotWorkerEngine> {
  const executable = opts.executable ?? 'buildbot-worker';
  const workerDir = path.join(path.resolve(opts.basedir), STOCK_WORKER_DIR);
  await mkdir(workerDir, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  // The stock worker's commands inherit its environment: never the agent's token or AWS credentials, as ours.
  const env = commandBaseEnvironment(process.env);
  const workerName = 'bbs-agent';
  const master = await MsgpackMaster.listen({
    workerName,
    password,
    bufferTimeout: opts.bufferTimeout ?? 0.1,
    log: opts.log,
  });
  try {
    await run(
      executable,
      [
        'create-worker',
        '--force',
        '--quiet',
        '--protocol',
        'msgpack_experimental_v7',
        '--maxdelay',
        '1',
        // Meant to end a stock worker whose agent is gone; over msgpack it did not (the group keeper does, below).
        '--maxretries',
        '60',
        '--umask',
        '0o022',
        workerDir,
        `127.0.0.1:${master.port}`,
        workerName,
        password,
      ],
      { env },
    );
  } catch (error) {
    await master.close();
    throw new StockWorkerError(`${executable} create-worker failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!(await quietProtocolLog(workerDir)))
    opts.log(
      'buildbot-worker: buildbot.tac is not as expected; twistd.log keeps the repr of every protocol message',
    );
  // The groups of the stock worker's commands: killed whenever the stock worker exits (stockGroups.ts).
  const groups = new StockGroups();
  const killOrphans = (): void => {
    const killed = groups.killAll();
    if (killed > 0) opts.log(`buildbot-worker: killed ${killed} process group(s) its commands left running`);
  };
  let stopping = false;
  let starts = 0;
  let child: ReturnType<typeof spawn> | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  const startChild = (): void => {
    starts++;
    const proc = spawn(executable, ['start', '--nodaemon', workerDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env,
      // Its own process group: the agent's signals reach it only through stop().
      detached: true,
    });
    child = proc;
    // Its group goes to the group keeper: an agent that dies without stop() (SIGKILL, or a stop cut short) takes
    // the stock worker with it. Left alone, 3.7 over msgpack did not exit (--maxretries notwithstanding): stock
    // workers of agents killed in tests were found idle and unconnected 15 to 45 minutes later.
    const group = proc.pid;
    if (group !== undefined) groupKeeper().watch(group);
    opts.log(`buildbot-worker started (pid ${proc.pid}, directory ${workerDir})`);
    proc.stderr?.on('data', (chunk: Buffer) => opts.log(`buildbot-worker: ${chunk.toString().trimEnd()}`));
    proc.on('error', (error) => opts.log(`buildbot-worker could not start: ${error.message}`));
    proc.on('exit', (code, signal) => {
      if (child === proc) child = undefined;
      if (group !== undefined) groupKeeper().release(group);
      killOrphans();
      if (stopping) return;
      opts.log(`buildbot-worker exited (${signal ?? `code ${code}`}); starting it again`);
      master.current?.close();
      restartTimer = setTimeout(startChild, RESTART_DELAY_MS);
    });
  };
  startChild();
  try {
    await master.connection(60_000);
  } catch (error) {
    stopping = true;
    child?.kill('SIGKILL');
    await master.close();
    throw error;
  }
  return {
    registry: stockRegistry(master, {
      started: () => groups.scan(child?.pid),
      ended: () => groups.prune(),
    }),
    workerDir,
    get starts() {
      return starts;
    },
    get pid() {
      return child?.pid;
    },
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      const proc = child;
      if (proc && proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await master.close();
    },
  };
}
