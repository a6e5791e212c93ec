/**
 * One OS process of the command race tests (races.test.ts): a stand-in for one Lambda instance, with its
 * own SDK clients, calling the shared/ functions the handlers call. It prints {"event":"ready"} once its
 * clients are warm, then runs each job line it reads on stdin: `callers` concurrent calls, after an
 * optional random pause, printing {"event":"done","results":[...]}. The test writes one job to every
 * racer at once, so their conditional writes meet in DynamoDB at the same moment.
 */
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { callerIdOf } from '../../shared/auth/tokens.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import type { CommandsContext } from '../../shared/commands/context.ts';
import { CommandNotFoundError } from '../../shared/commands/errors.ts';
import { recordLastResult } from '../../shared/commands/lastResult.ts';
import type { SequencedUpdate } from '../../shared/commands/apiTypes.ts';
import { claimCommand } from '../../shared/commands/claim.ts';
import { completeCommand } from '../../shared/commands/complete.ts';
import { postUpdates } from '../../shared/commands/ingest.ts';
import { interruptCommand } from '../../shared/commands/interrupt.ts';
import { getCommand } from '../../shared/commands/recordReads.ts';
import { startCommand } from '../../shared/commands/start.ts';
import { runWatchdog } from '../../shared/commands/watchdog.ts';
import type { CompletionEvent, StartCommandRequest } from '../../shared/commands/wire.ts';
import { BuildbotError } from '../../shared/errors.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';

export type RacerOp =
  | { op: 'claim'; worker: string; commandId: string }
  | { op: 'updates'; worker: string; commandId: string; batches: SequencedUpdate[][] }
  | { op: 'complete'; worker: string; commandId: string; lastSeq: number }
  /** The scheduled watchdog, with its clock moved `clockShiftMs` ahead (the time seam of CommandsContext). */
  | { op: 'watchdog'; clockShiftMs: number }
  | { op: 'interrupt'; commandId: string; why: string }
  | { op: 'start'; request: StartCommandRequest }
  /** Caller i records events[i % events.length] as the lastResult consumer does. */
  | { op: 'lastResult'; events: CompletionEvent[] }
  | { op: 'exit' };

export type RacerJob = RacerOp & {
  /** Concurrent calls in this process. @default 1 */
  callers?: number;
  /** Each call first waits a random 0..jitterMs, so that races land in varying orders. @default 0 */
  jitterMs?: number;
};

export type RacerResult =
  { value: unknown } | { error: string; statusCode: number; details: Record<string, unknown> };

export type RacerEvent = { event: 'ready' } | { event: 'done'; results: RacerResult[] };

function emit(event: RacerEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const ctx = commandsContextFromEnv();
const state = StateConnector.fromEnv();

function shifted(clockShiftMs: number): CommandsContext {
  return { ...ctx, now: () => Date.now() + clockShiftMs };
}

/** Every racer process calls as one token, as one client retrying from several processes would. */
const RACER_CALLER = callerIdOf('racer-client-token');

async function run(job: RacerOp, caller: number): Promise<unknown> {
  switch (job.op) {
    case 'claim':
      return claimCommand(ctx, job.worker, job.commandId);
    case 'updates':
      return postUpdates(ctx, job.worker, job.commandId, job.batches[caller % job.batches.length]!);
    case 'complete':
      return completeCommand(ctx, job.worker, job.commandId, { lastSeq: job.lastSeq });
    case 'watchdog':
      return runWatchdog(shifted(job.clockShiftMs));
    case 'interrupt':
      return interruptCommand(ctx, job.commandId, job.why);
    case 'start':
      return startCommand(ctx, RACER_CALLER, job.request);
    case 'lastResult':
      return recordLastResult(state, job.events[caller % job.events.length]!);
    case 'exit':
      return undefined;
  }
}

async function call(job: RacerJob, caller: number): Promise<RacerResult> {
  if (job.jitterMs) await sleep(Math.random() * job.jitterMs);
  try {
    return { value: await run(job, caller) };
  } catch (error) {
    if (!(error instanceof BuildbotError)) throw error;
    return { error: error.name, statusCode: error.statusCode, details: error.details };
  }
}

// Warm the DynamoDB client (connection, credentials) so the first race does not start late in this process.
try {
  await getCommand(ctx, '0'.repeat(32));
} catch (error) {
  if (!(error instanceof CommandNotFoundError)) throw error;
}
emit({ event: 'ready' });
for await (const line of createInterface({ input: process.stdin })) {
  const job = JSON.parse(line) as RacerJob;
  if (job.op === 'exit') break;
  const results = await Promise.all(Array.from({ length: job.callers ?? 1 }, (_, i) => call(job, i)));
  emit({ event: 'done', results });
}
process.exit(0);
