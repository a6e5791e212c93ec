// The one worker `npm start` registers and runs in the stack's own process.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ApiError } from '../shared/client/errors.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import { runWorker } from '../worker/worker.ts';
import type { RunningWorker } from '../worker/worker.ts';

/** The one worker `npm start` runs beside the stack, so `bbs run -- echo hello` works with nothing else started. */
export interface LocalWorkerOptions {
  /** Worker name, as `bbs run --worker` names it. @default 'local' */
  name?: string;
  /** Directory the worker runs commands in (created if missing). */
  basedir: string;
  /** Commands run at once. @default 4 */
  concurrency?: number;
  log?: (line: string) => void;
  /** The client of the stack's SQS endpoint (startLocalStack passes its own). @default sqsClient() of process.env */
  sqs?: SQSClient;
}

export interface LocalWorker {
  name: string;
  basedir: string;
  /** Interrupts what still runs and stops polling. */
  stop(): Promise<void>;
}

/**
 * Registers the worker through the API (rotating its token when a persisted stack already knows the name)
 * and runs it in this process, where stop() can end it before the gateway closes.
 */
export async function startLocalWorker(
  apiUrl: string,
  adminToken: string,
  options: LocalWorkerOptions,
): Promise<LocalWorker> {
  const name = options.name ?? 'local';
  const admin = new CommandsClient({ apiUrl, token: adminToken });
  let registered;
  try {
    registered = await admin.registerWorker(name);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    registered = await admin.registerWorker(name, { rotate: true });
  }
  const worker: RunningWorker = await runWorker({
    apiUrl,
    name,
    token: registered.token,
    basedir: options.basedir,
    concurrency: options.concurrency ?? 4,
    ...(options.log ? { log: options.log } : {}),
    ...(options.sqs ? { sqs: options.sqs } : {}),
  });
  return { name, basedir: options.basedir, stop: () => worker.stop({ interrupt: true }) };
}
