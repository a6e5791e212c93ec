/**
 * One OS process of the cluster race tests (cluster.test.ts). It reads its job from RACER_JOB, builds a
 * StateConnector from the environment (the local stack's), prints {"event":"ready"}, waits for a line
 * on stdin so every process starts together, runs `callers` concurrent calls and prints their results.
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

const job = JSON.parse(process.env.RACER_JOB ?? '{}') as RacerJob;
const connector = StateConnector.fromEnv();

async function create(caller: number): Promise<string> {
  if (job.runsFile) appendFileSync(job.runsFile, `${job.label}:${caller}\n`);
  emit({ event: 'creating' });
  await sleep(job.createMs ?? 0);
  return `${job.label}:${caller}`;
}

async function call(caller: number): Promise<RacerResult> {
  try {
    if (job.op === 'objectId') return { value: await connector.getObjectId(job.name, 'Racer') };
    const objectId = job.objectId ?? 1;
    const opts = { exactlyOnce: job.op === 'createOnce', leaseMs: job.leaseMs };
    return { value: await connector.atomicCreateState(objectId, job.name, () => create(caller), opts) };
  } catch (error) {
    if (!(error instanceof BuildbotError)) throw error;
    return { error: error.name, details: error.details };
  }
}

emit({ event: 'ready' });
for await (const _line of createInterface({ input: process.stdin })) break;
const results = await Promise.all(Array.from({ length: job.callers }, (_, caller) => call(caller)));
emit({ event: 'done', results });
process.exit(0);
