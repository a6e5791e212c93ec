// The chaos suite's side of the stack process: ports, the fault proxies in front of the emulators, kill and restart.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as ENV from '../shared/config.ts';
import { startFaultProxy } from './faultProxy.ts';
import type { FaultProxy } from './faultProxy.ts';
import type { StackChildConfig, StackChildReady, StackPids } from './stackChild.ts';
import { freePort } from '../local/ports.ts';

const CHILD = fileURLToPath(new URL('./stackChild.ts', import.meta.url));
/** How long a stack process may take to serve (java boots in it; a loaded 2-core machine is slow). */
const READY_TIMEOUT_MS = 90_000;
/** Starts in a row that may fail (a port still held by the killed stack's java) before the restart gives up. */
const START_ATTEMPTS = 8;

export interface ChaosStack {
  apiUrl: string;
  /** The stack's env with the SQS endpoint of the proxy: what a worker process gets. */
  workerEnv: Record<string, string>;
  tokens: { admin: string; client: string };
  proxies: { dynamodb: FaultProxy; sqs: FaultProxy };
  /** The current pids (asked of the stack process), or undefined while it is down. */
  pids(): Promise<StackPids | undefined>;
  /** SIGKILLs the stack process (its handlers mid-request) and starts a new one on the same data and ports. */
  killAndRestart(): Promise<void>;
  /** Times the stack process was started again. */
  readonly restarts: number;
  stop(): Promise<void>;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once('exit', () => done()));
}

function launch(
  config: StackChildConfig,
  log: (line: string) => void,
): Promise<{ child: ChildProcess; ready: StackChildReady }> {
  const child = fork(CHILD, [JSON.stringify(config)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, [ENV.awsSdkSuppressNodeDeprecationWarning]: '1', [ENV.nodeNoWarnings]: '1' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stderr = (stderr + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(`[stack ${child.pid}] ${line}`);
  });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stack process not ready after ${READY_TIMEOUT_MS} ms: ${stderr}`));
    }, READY_TIMEOUT_MS);
    child.on('message', (message: { ready?: StackChildReady }) => {
      if (!message.ready) return;
      clearTimeout(timer);
      resolveReady({ child, ready: message.ready });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`stack process exited (code ${code}, signal ${signal}) before serving: ${stderr}`));
    });
  });
}

/**
 * Starts the proxies and the stack process. Every port is chosen once, here: the API, both emulators and both
 * proxies keep theirs across every restart, so workers and clients never learn new addresses.
 */
export async function startChaosStack(opts: {
  persistDir: string;
  log: (line: string) => void;
}): Promise<ChaosStack> {
  const [apiPort, dynamodbPort, sqsPort] = [await freePort(), await freePort(), await freePort()];
  const proxies = {
    dynamodb: await startFaultProxy({ service: 'dynamodb', upstreamPort: dynamodbPort }),
    sqs: await startFaultProxy({ service: 'sqs', upstreamPort: sqsPort }),
  };
  const config: StackChildConfig = {
    persistDir: opts.persistDir,
    apiPort,
    emulatorPorts: { dynamodb: dynamodbPort, sqs: sqsPort },
    endpoints: { dynamodb: proxies.dynamodb.url, sqs: proxies.sqs.url },
    pollWaitSeconds: 1,
  };
  let current = await launch(config, opts.log);
  const first = current.ready;
  let restarts = 0;
  let down = false;

  const start = async (): Promise<void> => {
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        current = await launch(config, opts.log);
        return;
      } catch (error) {
        lastError = error;
        opts.log(`[chaos] stack start ${attempt} failed: ${(error as Error).message.slice(0, 300)}`);
        await sleep(500 * attempt);
      }
    }
    throw lastError;
  };

  return {
    apiUrl: first.apiUrl,
    workerEnv: { ...first.env, [ENV.awsEndpointUrlSqs]: proxies.sqs.url },
    tokens: first.tokens,
    proxies,
    get restarts() {
      return restarts;
    },
    pids() {
      if (down || !current.child.connected) return Promise.resolve(undefined);
      const child = current.child;
      return new Promise((answer) => {
        const timer = setTimeout(() => answer(undefined), 2000);
        const onMessage = (message: { pids?: StackPids }) => {
          if (!message.pids) return;
          clearTimeout(timer);
          child.off('message', onMessage);
          answer(message.pids);
        };
        child.on('message', onMessage);
        child.send('pids');
      });
    },
    async killAndRestart() {
      down = true;
      const { child } = current;
      child.kill('SIGKILL');
      await exited(child);
      // Its supervisor sees its stdin close and kills java; the new stack retries until the ports are free.
      await start();
      restarts++;
      down = false;
    },
    async stop() {
      const { child } = current;
      const gone = exited(child);
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(timer);
      await Promise.all([proxies.dynamodb.close(), proxies.sqs.close()]);
    },
  };
}
