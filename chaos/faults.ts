// The faults the chaos suite injects while commands run, one at a time, each with its window recorded.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplicator } from './duplicates.ts';
import type { Submission } from './load.ts';
import type { ChaosStack } from './stack.ts';
import type { WorkerPool } from './workers.ts';

export const FAULT_NAMES = [
  'dynamodb-kill',
  'worker-burst',
  'throttle',
  'sqs-restart',
  'errors',
  'stack-kill',
  'duplicates',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];

/** One injection: which fault, when it began and ended (the outage and its repair), what it did. */
export interface FaultWindow {
  fault: FaultName;
  startedAt: number;
  endedAt: number;
  note: string;
}

interface FaultContext {
  stack: ChaosStack;
  pool: WorkerPool;
  /** How long a window fault (throttle, errors, duplicates) lasts. */
  windowMs: number;
  duplicator: Duplicator;
  submissions: Submission[];
  log: (line: string) => void;
}

async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Kills one emulator process and waits until the stack reports a new one in its place. */
async function killAndAwaitNew(ctx: FaultContext, which: 'java' | 'supervisor'): Promise<string> {
  const before = await ctx.stack.pids();
  if (!before) return 'stack down: skipped';
  process.kill(before[which], 'SIGKILL');
  await waitUntil(
    `a new ${which} process`,
    async () => {
      const now = await ctx.stack.pids();
      return now !== undefined && now[which] !== before[which];
    },
    90_000,
  );
  // The supervisor's pid changes before its queues are made again: give that a moment.
  if (which === 'supervisor') await sleep(2000);
  return `${which} ${before[which]} killed`;
}

async function rateWindow(
  ctx: FaultContext,
  rates: Parameters<ChaosStack['proxies']['sqs']['setFaults']>[0],
) {
  const proxies = [ctx.stack.proxies.dynamodb, ctx.stack.proxies.sqs];
  for (const proxy of proxies) proxy.setFaults(rates);
  await sleep(ctx.windowMs);
  for (const proxy of proxies) proxy.setFaults({});
  return JSON.stringify(rates);
}

const INJECT: Record<FaultName, (ctx: FaultContext) => Promise<string>> = {
  'dynamodb-kill': (ctx) => killAndAwaitNew(ctx, 'java'),
  'sqs-restart': (ctx) => killAndAwaitNew(ctx, 'supervisor'),
  'stack-kill': async (ctx) => {
    await ctx.stack.killAndRestart();
    return `stack process killed and started again (${ctx.stack.restarts})`;
  },
  'worker-burst': async (ctx) => {
    const count = Math.max(1, Math.ceil(ctx.pool.workers.length / 2));
    const killed = await ctx.pool.killBurst(count, 1500);
    return `SIGKILLed ${killed.join(', ')}`;
  },
  throttle: (ctx) => rateWindow(ctx, { throttle: 0.3 }),
  errors: (ctx) => rateWindow(ctx, { errorBefore: 0.1, errorAfter: 0.1 }),
  duplicates: async (ctx) => {
    // Every command accepted in the window gets a copy of its message at once and another 3 s later (after
    // its worker claimed the first, most likely).
    const startedAt = Date.now();
    const copied = new Set<string>();
    const later: Promise<void>[] = [];
    while (Date.now() < startedAt + ctx.windowMs) {
      for (const submission of ctx.submissions)
        if ((submission.acceptedAt ?? 0) >= startedAt - 1000 && !copied.has(submission.key)) {
          copied.add(submission.key);
          later.push(
            ctx.duplicator.send(submission),
            sleep(3000).then(() => ctx.duplicator.send(submission)),
          );
        }
      await sleep(200);
    }
    await Promise.all(later);
    return `${copied.size} commands sent twice more (${ctx.duplicator.sent} copies so far)`;
  },
};

/**
 * Injects the faults in turn, `gapMs` apart, until `until`; each is repaired (restarted, rates back to zero)
 * before the next starts, so every command's outcome can be laid against the windows it ran in.
 */
export async function runFaults(
  ctx: FaultContext,
  opts: { faults: readonly FaultName[]; until: number; gapMs: number },
): Promise<FaultWindow[]> {
  const windows: FaultWindow[] = [];
  for (let i = 0; opts.faults.length > 0 && Date.now() < opts.until; i++) {
    await sleep(opts.gapMs);
    if (Date.now() >= opts.until) break;
    const fault = opts.faults[i % opts.faults.length] as FaultName;
    const startedAt = Date.now();
    let note: string;
    try {
      note = await INJECT[fault](ctx);
    } catch (error) {
      note = `failed: ${(error as Error).message}`;
    }
    windows.push({ fault, startedAt, endedAt: Date.now(), note });
    ctx.log(`[chaos] ${fault}: ${note} (${Date.now() - startedAt} ms)`);
  }
  return windows;
}
