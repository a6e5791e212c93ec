/**
 * One OS process of the cluster race tests (cluster.test.ts), kept for several races. For each job (a JSON line on
 * stdin) it builds a fresh StateConnector from the environment (the local stack's), prints {"event":"ready"}, waits
 * for a line on stdin so every process starts together, runs `callers` concurrent calls and prints their results.
 * It exits when stdin ends.
 */
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { BuildbotError } from '../../shared/errors.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';

export interface RacerJob {
  op: 'objectId' | 'create' | 'createOnce';
  /** Object name (objectId) or state name (create, createOnce). */
  name: string;
  /** The object whose state is raced (create, createOnce). */
  objectId?: number;
  callers: number;
  /** Names this process in the runs file and in created values. */
  label: string;
  /** Every create() appends a line here, so the test counts runs across processes. */
  runsFile?: string;
  /** How long create() takes. */
  createMs?: number;
  leaseMs?: number;
}

export type RacerResult = { value: unknown } | { error: string; details: Record<string, unknown> };

export type RacerEvent =
  { event: 'ready' } | { event: 'creating' } | { event: 'done'; results: RacerResult[] };

function emit(event: RacerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

async function create(job: RacerJob, caller: number): Promise<string> {
  if (job.runsFile) appendFileSync(job.runsFile, `${job.label}:${caller}\n`);
  emit({ event: 'creating' });
  await sleep(job.createMs ?? 0);
  return `${job.label}:${caller}`;
}

async function call(connector: StateConnector, job: RacerJob, caller: number): Promise<RacerResult> {
  try {
    if (job.op === 'objectId') return { value: await connector.getObjectId(job.name, 'Racer') };
    const objectId = job.objectId ?? 1;
    const opts = { exactlyOnce: job.op === 'createOnce', leaseMs: job.leaseMs };
    return { value: await connector.atomicCreateState(objectId, job.name, () => create(job, caller), opts) };
  } catch (error) {
    if (!(error instanceof BuildbotError)) throw error;
    return { error: error.name, details: error.details };
  }
}

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
for (let next = await lines.next(); !next.done; next = await lines.next()) {
  const job = JSON.parse(next.value) as RacerJob;
  // A connector per job: its id cache starts empty, as a new process's would.
  const connector = StateConnector.fromEnv();
  emit({ event: 'ready' });
  if ((await lines.next()).done) break;
  const results = await Promise.all(
    Array.from({ length: job.callers }, (_, caller) => call(connector, job, caller)),
  );
  emit({ event: 'done', results });
}
process.exit(0);
