// `bbs worker`: the worker's command line, and running it until SIGTERM or SIGINT.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import { WorkerUsageError } from './errors.ts';
import { stderrLogSink } from './log.ts';
import type { WorkerLogSink } from './log.ts';
import { runWorker } from './worker.ts';
import { WORKER_ENGINES } from './options.ts';
import type { EngineChoice, WorkerEngineName, WorkerOptions } from './options.ts';
import { startBuildbotWorkerEngine } from './engines/stockWorker.ts';
import type { BuildbotWorkerEngine } from './engines/stockWorker.ts';

/**
 * The worker's command line: `bbs worker --api-url URL --name NAME --token TOKEN --basedir DIR
 * [--concurrency N] [--engine native|buildbot-worker [--buildbot-worker PATH]]`. The token may come from BBS_WORKER_TOKEN instead (so it stays out of `ps`), the
 * API URL from BBS_API_URL. SIGTERM or SIGINT stops gracefully; a second one interrupts running commands.
 */
export const WORKER_USAGE = `usage: bbs worker --api-url URL --name NAME --token TOKEN --basedir DIR [--concurrency N]
       [--buffer-bytes N] [--buffer-ms N] [--interrupt-on-shutdown]
       [--engine native|buildbot-worker] [--buildbot-worker PATH]
  --engine buildbot-worker runs each command through an unmodified buildbot-worker (on PATH, or PATH).
  --token may be replaced by the ${ENV.workerToken} variable, --api-url by ${ENV.apiUrl}.`;

function positiveInteger(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new WorkerUsageError(`${flag} must be a whole number of at least 1, got '${text}'`);
  return value;
}

export function parseWorkerArgs(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): WorkerOptions & EngineChoice {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'api-url': { type: 'string' },
        name: { type: 'string' },
        token: { type: 'string' },
        basedir: { type: 'string' },
        concurrency: { type: 'string' },
        'buffer-bytes': { type: 'string' },
        'buffer-ms': { type: 'string' },
        'interrupt-on-shutdown': { type: 'boolean' },
        engine: { type: 'string' },
        'buildbot-worker': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new WorkerUsageError(`${(error as Error).message}\n${WORKER_USAGE}`, { cause: error });
  }
  const apiUrl = values['api-url'] ?? env[ENV.apiUrl];
  const token = values.token ?? env[ENV.workerToken];
  const missing = [
    apiUrl ? undefined : '--api-url',
    values.name ? undefined : '--name',
    token ? undefined : '--token',
    values.basedir ? undefined : '--basedir',
  ].filter((flag) => flag !== undefined);
  if (missing.length > 0) throw new WorkerUsageError(`missing ${missing.join(', ')}\n${WORKER_USAGE}`);
  const bufferMs = values['buffer-ms'] === undefined ? undefined : Number(values['buffer-ms']);
  if (bufferMs !== undefined && !(bufferMs >= 0))
    throw new WorkerUsageError(`--buffer-ms must be 0 or more, got '${values['buffer-ms']}'`);
  const engine = values.engine ?? 'native';
  if (!(WORKER_ENGINES as readonly string[]).includes(engine))
    throw new WorkerUsageError(`--engine must be one of ${WORKER_ENGINES.join(', ')}, got '${engine}'`);
  if (values['buildbot-worker'] !== undefined && engine !== 'buildbot-worker')
    throw new WorkerUsageError('--buildbot-worker goes with --engine buildbot-worker');
  return {
    engine: engine as WorkerEngineName,
    buildbotWorker: values['buildbot-worker'],
    apiUrl: apiUrl!,
    name: values.name!,
    token: token!,
    basedir: values.basedir!,
    concurrency: positiveInteger('--concurrency', values.concurrency),
    bufferBytes: positiveInteger('--buffer-bytes', values['buffer-bytes']),
    bufferMs,
    interruptOnShutdown: values['interrupt-on-shutdown'] ?? false,
  };
}

/** Runs the worker until a signal stops it; resolves with the process exit code. */
export async function workerMain(argv: string[], log: WorkerLogSink = stderrLogSink): Promise<number> {
  let opts: WorkerOptions & EngineChoice;
  try {
    opts = parseWorkerArgs(argv);
  } catch (error) {
    if (!(error instanceof WorkerUsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  // The handlers go in before the worker starts: a SIGTERM sent as soon as it says it is polling must stop it
  // gracefully, not kill it with Node's default action.
  let signals = 0;
  let onSignal: (signal: NodeJS.Signals) => void = () => void signals++;
  const relay = (signal: NodeJS.Signals): void => onSignal(signal);
  process.on('SIGTERM', relay);
  process.on('SIGINT', relay);
  let worker: Awaited<ReturnType<typeof runWorker>>;
  let engine: BuildbotWorkerEngine | undefined;
  try {
    if (opts.engine === 'buildbot-worker') {
      engine = await startBuildbotWorkerEngine({
        basedir: opts.basedir,
        executable: opts.buildbotWorker,
        log,
      });
      log(`worker ${opts.name}: engine buildbot-worker, connected`);
    }
    worker = await runWorker({ ...opts, log, ...(engine ? { registry: engine.registry } : {}) });
  } catch (error) {
    process.off('SIGTERM', relay);
    process.off('SIGINT', relay);
    await engine?.stop();
    throw error;
  }
  return new Promise<number>((resolve, reject) => {
    let stopping = false;
    onSignal = (signal) => {
      if (!stopping) {
        stopping = true;
        log(
          `worker ${worker.name}: ${signal}: stopping after the running commands (send it again to interrupt them)`,
        );
        worker
          .stop()
          .then(() => engine?.stop())
          .then(() => {
            process.off('SIGTERM', relay);
            process.off('SIGINT', relay);
            resolve(0);
          }, reject);
      } else {
        log(`worker ${worker.name}: ${signal} again: interrupting the running commands`);
        void worker.stop({ interrupt: true });
      }
    };
    // A signal that came while the worker was starting counts now.
    for (; signals > 0; signals--) onSignal('SIGTERM');
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  workerMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`worker failed: ${error.message}\n`);
      process.exit(1);
    },
  );
}
