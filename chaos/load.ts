// The chaos suite's load: commands that number their lines and mark each run, submitted with retries, acks sampled.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../shared/client/errors.ts';
import type { CommandsClient } from '../shared/client/CommandsClient.ts';

/** One command the suite submitted, and what it saw of it. */
export interface Submission {
  /** Its idempotency key, also its marker file's name and the prefix of each of its lines. */
  key: string;
  worker: string;
  /** Lines it prints: `<key> line 1` to `<key> line N`. */
  lines: number;
  firstTriedAt: number;
  commandId?: string;
  acceptedAt?: number;
  /** When the suite first saw it complete. */
  endedAt?: number;
  /** POST attempts, and why the failed ones failed (status or error name). */
  attempts: number;
  failedAttempts: Record<string, number>;
  /** Refused with a 4xx: never started. */
  refused?: string;
  /** Updates the API served while the command ran, by seq: each must still be stored, the same, at the end. */
  observed: Map<number, string>;
}

export interface CommandShape {
  lines: number;
  /** Seconds between lines. */
  lineSleep: number;
  /** Where each run appends its key to the file named after it. */
  markerDir: string;
  /** Where each run that reached its end writes a file named after its key (the soak counts them). */
  endDir?: string;
  timeouts: { start: number; heartbeat: number };
}

/** The shell script of one command: mark the run, print numbered lines, mark the end. */
export function commandScript(key: string, shape: CommandShape): string {
  const sleep = shape.lineSleep > 0 ? `; sleep ${shape.lineSleep}` : '';
  const end = shape.endDir ? `; : > '${shape.endDir}/${key}'` : '';
  return (
    `echo ${key} >> '${shape.markerDir}/${key}'; i=1; ` +
    `while [ $i -le ${shape.lines} ]; do echo "${key} line $i"; i=$((i+1))${sleep}; done${end}`
  );
}

/** The shell command's args: the script, run in the worker's base directory. */
export function commandArgs(key: string, shape: CommandShape): Record<string, unknown> {
  return { command: commandScript(key, shape), workdir: '.' };
}

function failureName(error: unknown): string {
  if (error instanceof ApiError) return String(error.status);
  return (error as Error).name || 'Error';
}

/**
 * Submits one command, retrying with the same idempotency key until the API accepts it, refuses it (4xx), or
 * `until` passes. A retry of a start whose answer was lost returns the same command (the key names it).
 */
export async function submit(
  client: CommandsClient,
  submission: Submission,
  shape: CommandShape,
  until: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    submission.attempts++;
    try {
      const { commandId } = await client.startCommand({
        worker: submission.worker,
        command: 'shell',
        args: commandArgs(submission.key, shape),
        timeouts: shape.timeouts,
        idempotencyKey: submission.key,
      });
      submission.commandId = commandId;
      submission.acceptedAt = Date.now();
      return;
    } catch (error) {
      const name = failureName(error);
      submission.failedAttempts[name] = (submission.failedAttempts[name] ?? 0) + 1;
      if (error instanceof ApiError && error.status < 500 && error.status !== 429) {
        submission.refused = `${error.status} ${String(error.body.code ?? '')}`;
        return;
      }
      if (Date.now() > until) return;
      await sleep(Math.min(250 * attempt, 3000));
    }
  }
}

export function newSubmission(key: string, worker: string, lines: number): Submission {
  return {
    key,
    worker,
    lines,
    firstTriedAt: Date.now(),
    attempts: 0,
    failedAttempts: {},
    observed: new Map(),
  };
}

/**
 * Reads the stored updates of a few running commands now and then, as a client following them would, and keeps
 * what it read: an update the API once served was acked to its worker, and must be there, the same, at the end.
 */
export function startAckSampler(
  client: CommandsClient,
  submissions: Submission[],
  opts: { everyMs: number; perRound: number },
): { stop(): Promise<void>; reads: () => number } {
  let stopped = false;
  let reads = 0;
  const loop = (async () => {
    while (!stopped) {
      await sleep(opts.everyMs);
      const candidates = submissions.filter((s) => s.commandId !== undefined && s.endedAt === undefined);
      const picked = candidates.sort(() => Math.random() - 0.5).slice(0, opts.perRound);
      await Promise.all(
        picked.map(async (submission) => {
          try {
            const page = await client.getUpdates(submission.commandId as string, -1);
            reads++;
            for (const [update, seq] of page.updates) submission.observed.set(seq, JSON.stringify(update));
            if (page.status === 'complete') submission.endedAt ??= Date.now();
          } catch {
            // An outage answers 503 or drops the connection: the next round reads again.
          }
        }),
      );
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
    reads: () => reads,
  };
}
