// Owns the scale bench's watchdog drive: finished and overdue commands arriving at a set rate, a run every (virtual) minute, lag per run.
import { randomBytes } from 'node:crypto';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../local/index.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import type { CommandsContext } from '../shared/commands/context.ts';
import { commandKey, dueShardOf } from '../shared/commands/keys.ts';
import { runWatchdog } from '../shared/commands/watchdog.ts';
import { newWatchdogMemory } from '../shared/commands/watchdogTypes.ts';
import { runWithEnv } from '../shared/env.ts';

/**
 * The watchdog at AWS's cadence, time compressed between runs only. The clock is virtual: run k happens at
 * T0 + k minutes. Before it, the entries that came due during the minute are written straight to the table
 * (BatchWriteItem, not counted): `perSecond` × 60 of them, deadlines spread over the minute, as commands that
 * finished leave them (complete, event sent: the watchdog reads each once and passes it), and `failing` of
 * them as commands whose worker vanished (queued past their start deadline: the watchdog ends each). Then the
 * run reads with its real budget (LIMITS.watchdogRunSeconds, 45 s of wall time, as on AWS): only the idle
 * rest of each minute is skipped. A run that cannot keep up stops at its budget and its lag grows.
 */
export interface DriveOptions {
  perSecond: number;
  failing: number;
  runs: number;
}

export interface RunSample {
  run: number;
  arrived: number;
  scanned: number;
  ended: number;
  tookMs: number;
  lagSeconds: number;
  exhausted: boolean;
  cpuMs: number;
}

const MINUTE = 60_000;

function record(
  commandId: string,
  worker: string,
  deadline: number,
  finished: boolean,
): Record<string, unknown> {
  return {
    ...commandKey(commandId),
    commandId,
    worker,
    command: 'shell',
    argsJson: '{}',
    decodeRC: { '0': 0 },
    status: finished ? 'complete' : 'queued',
    createdAt: deadline - MINUTE,
    startTimeoutMs: MINUTE,
    heartbeatTimeoutMs: MINUTE,
    acked: -1,
    dueShard: dueShardOf(commandId),
    deadline,
    ...(finished
      ? { results: 0, completedAt: deadline - MINUTE / 2, expiresAt: Math.floor(deadline / 1000) + 86_400 }
      : {}),
  };
}

async function write(ctx: CommandsContext, items: Record<string, unknown>[]): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  // Eight writers at once: the arrivals of a minute are written in seconds, outside the measured run.
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      for (let b = lane; b < batches.length; b += 8) {
        let pending = batches[b]!.map((Item) => ({ PutRequest: { Item } }));
        while (pending.length > 0) {
          const answer = await ctx.db.send(
            new BatchWriteCommand({ RequestItems: { [ctx.tableName]: pending } }),
          );
          pending = (answer.UnprocessedItems?.[ctx.tableName] ?? []) as typeof pending;
        }
      }
    }),
  );
}

export async function driveWatchdog(
  stack: LocalStack,
  opts: DriveOptions,
  progress: (line: string) => void,
): Promise<RunSample[]> {
  return runWithEnv(stack.env, async () => {
    const real = commandsContextFromEnv();
    // Far ahead of anything else in the table, and of real time: the stack's own watchdog is off.
    const t0 = Date.now() + 24 * 3600 * 1000;
    let now = t0;
    const ctx: CommandsContext = { ...real, now: () => now };
    const memory = newWatchdogMemory();
    // The first run starts every shard's cursor at now - 30 s: nothing of this drive is below it.
    await runWatchdog(ctx, memory);
    const samples: RunSample[] = [];
    const perMinute = Math.round(opts.perSecond * 60);
    const failingPerMinute = Math.round(perMinute * opts.failing);
    for (let run = 1; run <= opts.runs; run++) {
      const from = now;
      now = t0 + run * MINUTE;
      const items = Array.from({ length: perMinute }, (_, i) =>
        record(
          randomBytes(16).toString('hex'),
          'scale-vanished',
          from + Math.floor(((i + 0.5) * MINUTE) / perMinute),
          i >= failingPerMinute,
        ),
      );
      await write(ctx, items);
      const cpu = process.cpuUsage();
      const report = await runWatchdog(ctx, memory);
      const used = process.cpuUsage(cpu);
      const sample: RunSample = {
        run,
        arrived: perMinute,
        scanned: report.scanned,
        ended: Object.values(report.ended).reduce((sum, count) => sum + count, 0),
        tookMs: report.tookMs,
        lagSeconds: report.lagMs / 1000,
        exhausted: report.exhausted,
        cpuMs: (used.user + used.system) / 1000,
      };
      samples.push(sample);
      progress(
        `run ${run} at +${run} min: ${sample.arrived} arrived, ${sample.scanned} read, ${sample.ended} ended, ` +
          `${sample.tookMs} ms (${Math.round(sample.cpuMs)} ms CPU), lag ${sample.lagSeconds.toFixed(1)} s` +
          (sample.exhausted ? '' : ' (out of time)'),
      );
    }
    return samples;
  });
}
