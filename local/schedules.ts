// EventBridge schedules, locally: each enabled `schedule` event runs its function every intervalMs.
import { randomUUID } from 'node:crypto';
import type { ScheduledEvent } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID } from './serverless/intrinsics.ts';
import type { ScheduleDef } from './serverless/service.ts';
import type { Resolved } from './serverless/yaml.ts';
import type { FunctionRunner } from './handlers.ts';

/**
 * EventBridge schedules, locally: every enabled `schedule` event runs its function every `intervalMs`, whatever its
 * rate on AWS (a minute is AWS's finest; tests cannot wait that long). A run never overlaps the previous one:
 * when a run takes longer than the interval, the next starts as soon as it ends.
 */

export interface Schedule {
  stop(): Promise<void>;
}

function scheduledEvent(def: ScheduleDef, region: string, stackName: string): ScheduledEvent | Resolved {
  if (def.input !== undefined) return def.input;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${stackName}-${def.functionName}`],
    detail: {},
  };
}

export function startSchedule(opts: {
  def: ScheduleDef;
  runner: FunctionRunner;
  intervalMs: number;
  region: string;
  stackName: string;
  log: (line: string) => void;
}): Schedule {
  let running = true;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let lastFailure: string | undefined;

  const loop = (async () => {
    // As on AWS, the first run comes one interval after the start, not at once.
    let startedAt = Date.now();
    while (running) {
      const delay = Math.max(0, startedAt + opts.intervalMs - Date.now());
      await new Promise<void>((resolveWait) => {
        wake = resolveWait;
        timer = setTimeout(resolveWait, delay);
      });
      if (!running) break;
      startedAt = Date.now();
      try {
        await opts.runner.invoke(
          opts.def.functionName,
          scheduledEvent(opts.def, opts.region, opts.stackName),
        );
        lastFailure = undefined;
      } catch (error) {
        // The same failure every tick (a module not written yet) is logged once, not every second.
        const message = (error as Error).message;
        if (message !== lastFailure)
          opts.log(`scheduled ${opts.def.functionName} failed: ${(error as Error).stack ?? error}`);
        lastFailure = message;
      }
    }
  })();

  return {
    async stop() {
      running = false;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
