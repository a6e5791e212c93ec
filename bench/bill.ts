/**
 * bill: every AWS request the system makes, per trivial command and per MB of log, priced at us-east-1
 * on-demand rates (lib/prices.ts). Counted, not estimated: SDK middleware on the DynamoDB and SQS clients
 * (in the stack's process and in each worker process, which reports its tally when it stops), plus the
 * local gateway's HTTP requests, Lambda invocations and handler time (GB-seconds at serverless.yml's
 * memorySize). Background work (watchdog ticks, idle long polls) is measured on its own first and
 * subtracted pro rata, so the per-command figures are marginal costs. Waiting for completion reads
 * DynamoDB outside the tally: the benchmark's own polling is not on the bill.
 *
 * The local SQS trigger pollers (on AWS, the event source mapping's ReceiveMessage and DeleteMessageBatch,
 * billed too) use the stack's own SQS client, which is counted like the others (local/index.ts).
 * Floor: the least the semantics allow for one command (one HTTP request and invocation, one SendMessage,
 * ReceiveMessage and DeleteMessage, one 1-WRU write), priced the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FunctionTally } from '../local/index.ts';
import type { RequestTally } from '../shared/aws/requestCounter.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, waitAllCompleteUncounted } from './lib/commands.ts';
import { longLinesCase, yesHelloCase } from './lib/logs.ts';
import type { LogCase } from './lib/logs.ts';
import * as LIMITS from '../shared/limits.ts';
import { HEARTBEAT_INTERVAL_MS } from '../shared/workers/types.ts';
import { commandStorage, fixedCosts } from './lib/fixedCosts.ts';
import { dollars } from './lib/prices.ts';
import { logAllInExtras, logStorage } from './lib/logObjects.ts';
import type { BillUnits } from './lib/prices.ts';
import type { Figure } from './lib/report.ts';
import { pushCostFigures } from './lib/pushCosts.ts';
import { functionMemoryMb } from './lib/serviceMemory.ts';
import { mergeTallies, totalRequests } from './lib/tally.ts';
import { startWorkers, stopWorkers } from './lib/workers.ts';

const MB = 1_000_000;
/** The worker's long poll of its queue, seconds (docs/worker.md): an idle worker's one SQS request each. */
const LONG_POLL_SECONDS = 20;
/** Worker processes: one per phase; all of them idle through the idle phase. */
const PHASES = 5;
/** EMF lines a trivial command makes on AWS: CommandsStarted (start) and CommandsEnded (its ending). */
const EMF_LINES_PER_COMMAND = 2;
/**
 * After the last command completes, the trivial phase waits this long so that the completion consumer's last
 * batch (gathered for up to serverless.yml's 2 s maximumBatchingWindow) is counted in the phase.
 */
const CONSUMER_SETTLE_MS = 3_000;

interface PhaseCount {
  seconds: number;
  aws: RequestTally;
  functions: Record<string, FunctionTally>;
}

function billUnits(phase: PhaseCount, memoryMb: Record<string, number>): BillUnits {
  const functions = Object.entries(phase.functions);
  return {
    httpRequests: functions.reduce((sum, [, t]) => sum + t.httpRequests, 0),
    lambdaInvocations: functions.reduce((sum, [, t]) => sum + t.invocations, 0),
    lambdaGbSeconds: functions.reduce(
      (sum, [name, t]) => sum + (t.durationMs / 1000) * ((memoryMb[name] ?? 1024) / 1024),
      0,
    ),
    // Messages here are far below 64 KiB (args are small; logs go over HTTP), so one chunk per request.
    sqsRequestChunks: totalRequests(phase.aws, 'sqs'),
    dynamoWru: phase.aws.writeUnits,
    dynamoRru: phase.aws.readUnits,
  };
}

/** A function's mean invocation time in the idle phase, else in `fallback` (a short idle phase may see none). */
function meanDurationMs(idle: PhaseCount, fallback: PhaseCount, name: string): number {
  for (const phase of [idle, fallback]) {
    const tally = phase.functions[name];
    if (tally && tally.invocations > 0) return tally.durationMs / tally.invocations;
  }
  return 0;
}

/** `units` minus what the idle background would have cost over `seconds`, per `per` (never below 0). */
function marginal(
  units: BillUnits,
  idle: BillUnits,
  idleSeconds: number,
  seconds: number,
  per: number,
): BillUnits {
  const scale = seconds / idleSeconds;
  const entries = Object.entries(units).map(([key, value]) => [
    key,
    Math.max(0, value - (idle[key as keyof BillUnits] ?? 0) * scale) / per,
  ]);
  return Object.fromEntries(entries) as unknown as BillUnits;
}

export const bill: Benchmark = {
  name: 'bill',
  title: 'AWS requests and dollars per trivial command and per MB of log',
  async run(ctx) {
    const commands = size(ctx, 200, 3);
    const idleMs = size(ctx, 10_000, 500);
    const logBytes = size(ctx, 10 * MB, 64 * 1000);
    const timeoutMs = size(ctx, 300_000, 30_000);
    const memoryMb = functionMemoryMb();
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });

    // One fresh worker process per phase, all started at once (start-up is slow on a small machine). The
    // others idle through every phase alike, so subtracting the idle phase removes their heartbeats too.
    const phaseWorkers = await startWorkers(stack, 'bill', PHASES);
    const followMs = size(ctx, 30_000, 3_000);
    /** Runs `workload` on the next fresh worker and returns everything counted meanwhile. */
    const phase = async (workload: (worker: string) => Promise<void>): Promise<PhaseCount> => {
      const worker = phaseWorkers.shift()!;
      worker.resetTally();
      stack.resetTallies();
      const start = performance.now();
      let report;
      try {
        await workload(worker.name);
      } finally {
        report = await worker.stop();
      }
      const seconds = (performance.now() - start) / 1000;
      const counted = stack.tallies();
      return {
        seconds,
        aws: mergeTallies(counted.aws, report.tally),
        functions: counted.functions,
      };
    };

    let idle: PhaseCount;
    let trivial: PhaseCount;
    let completed = 0;
    let logsCompleted = 0;
    let follow: PhaseCount | undefined;
    const trivialIds: string[] = [];
    const logCases: LogCase[] = [yesHelloCase(logBytes), await longLinesCase(Math.floor(logBytes / 1000))];
    const logPhases = new Map<LogCase, PhaseCount>();
    const logCommands = new Map<LogCase, string>();
    try {
      ctx.progress(`idle background for ${idleMs / 1000} s`);
      idle = await phase(() => sleep(idleMs));
      ctx.progress(`${commands} trivial commands`);
      trivial = await phase(async (worker) => {
        const ids = trivialIds;
        for (let i = 0; i < commands; i += 1)
          ids.push((await client.startCommand({ worker, ...TRIVIAL_COMMAND })).commandId);
        completed = await waitAllCompleteUncounted(stack, ids, { intervalMs: 50, timeoutMs });
        await sleep(CONSUMER_SETTLE_MS);
      });
      for (const logCase of logCases) {
        ctx.progress(`${logCase.name}, ${logCase.bytes / MB} MB of log`);
        logPhases.set(
          logCase,
          await phase(async (worker) => {
            const { commandId } = await client.startCommand({
              worker,
              command: 'shell',
              args: { command: ['sh', '-c', logCase.script], workdir: '.' },
            });
            logCommands.set(logCase, commandId);
            logsCompleted += await waitAllCompleteUncounted(stack, [commandId], {
              intervalMs: 50,
              timeoutMs,
            });
          }),
        );
      }
      ctx.progress(`a log follower on a quiet command for ${followMs / 1000} s`);
      follow = await phase(async (worker) => {
        const { commandId } = await client.startCommand({
          worker,
          command: 'shell',
          args: { command: ['sleep', String(Math.ceil(followMs / 1000) + 60)], workdir: '.' },
        });
        await sleep(2000); // claimed meanwhile; polling for it would add to what is measured
        const signal = AbortSignal.timeout(followMs);
        try {
          for await (const chunk of client.followLog(commandId, 'stdio', { signal })) void chunk;
        } catch (error) {
          if (!signal.aborted) throw error;
        }
        await client.interrupt(commandId, 'bill: the follower was measured');
        await waitAllCompleteUncounted(stack, [commandId], { intervalMs: 50, timeoutMs });
      });
    } finally {
      // Workers of phases that never ran (after a failure) still need stopping.
      await stopWorkers(phaseWorkers);
    }

    const idleUnits = billUnits(idle, memoryMb);
    const perCommand = marginal(
      billUnits(trivial, memoryMb),
      idleUnits,
      idle.seconds,
      trivial.seconds,
      commands,
    );
    const per1000 = dollars(perCommand).total * 1000;
    const floorUnits: BillUnits = {
      httpRequests: 1,
      lambdaInvocations: 1,
      lambdaGbSeconds: 0.001 * (256 / 1024),
      sqsRequestChunks: 3,
      dynamoWru: 1,
      dynamoRru: 0,
    };
    const floorPer1000 = dollars(floorUnits).total * 1000;
    const awsPerCommand =
      (totalRequests(trivial.aws) - totalRequests(idle.aws) * (trivial.seconds / idle.seconds)) / commands;
    const figures: Figure[] = [
      {
        name: 'per command: $ per 1000 commands',
        value: per1000,
        unit: '$',
        floor: floorPer1000,
        target: { op: '<=', value: 0.01 },
      },
      {
        name: 'per command: AWS requests (DynamoDB + SQS)',
        value: awsPerCommand,
        unit: 'requests',
        floor: 4,
      },
      {
        name: 'per command: HTTP requests',
        value: perCommand.httpRequests,
        unit: 'requests',
        floor: floorUnits.httpRequests,
      },
      {
        name: 'per command: Lambda invocations',
        value: perCommand.lambdaInvocations,
        unit: 'invocations',
        floor: floorUnits.lambdaInvocations,
      },
      { name: 'per command: Lambda GB-seconds', value: perCommand.lambdaGbSeconds, unit: 'GB-s' },
      {
        name: 'per command: SQS request chunks',
        value: perCommand.sqsRequestChunks,
        unit: 'requests',
        floor: floorUnits.sqsRequestChunks,
      },
      {
        name: 'per command: DynamoDB WRU',
        value: perCommand.dynamoWru,
        unit: 'WRU',
        floor: floorUnits.dynamoWru,
      },
      { name: 'per command: DynamoDB RRU', value: perCommand.dynamoRru, unit: 'RRU' },
    ];
    const logBreakdown: Record<string, unknown> = {};
    for (const logCase of logCases) {
      const counted = logPhases.get(logCase)!;
      const perMb = marginal(
        billUnits(counted, memoryMb),
        idleUnits,
        idle.seconds,
        counted.seconds,
        logCase.bytes / MB,
      );
      const stored = await logStorage(stack, logCommands.get(logCase)!);
      // Log objects' S3 requests, from the runs stored (presigned requests pass no SDK client to count them):
      // a PUT each, and one HEAD each (the API's check before the record; the request before the PUT makes
      // none). The reads' GETs are in logAllInExtras.
      perMb.s3Puts = stored.objects / (logCase.bytes / MB);
      perMb.s3Gets = stored.objects / (logCase.bytes / MB);
      const perGb = dollars(perMb).total * 1000;
      const allIn = perGb + logAllInExtras(stored, logCase.bytes);
      logBreakdown[logCase.name] = {
        units: perMb,
        dollars: dollars(perMb),
        stored,
        allInPerGb: allIn,
        requests: counted.aws.requests,
        functions: counted.functions,
      };
      figures.push(
        { name: `${logCase.name}: $ per GB of log`, value: perGb, unit: '$' },
        {
          name: `${logCase.name}: $ per GB of log, all in (a month stored, read once)`,
          value: allIn,
          unit: '$',
          ...(logCase.bytes > 0 && logCase === logCases[1]
            ? { target: { op: '<=' as const, value: 0.05 } }
            : {}),
        },
        { name: `${logCase.name}: S3 PUTs per MB`, value: perMb.s3Puts, unit: 'requests' },
        { name: `${logCase.name}: HTTP requests per MB`, value: perMb.httpRequests, unit: 'requests' },
        { name: `${logCase.name}: DynamoDB WRU per MB`, value: perMb.dynamoWru, unit: 'WRU' },
        { name: `${logCase.name}: Lambda GB-seconds per MB`, value: perMb.lambdaGbSeconds, unit: 'GB-s' },
      );
    }
    // The followed command's own start, claim, interrupt and ending are taken as a trivial command's.
    const followed = marginal(billUnits(follow!, memoryMb), idleUnits, idle.seconds, follow!.seconds, 1);
    for (const key of Object.keys(followed) as (keyof BillUnits)[])
      followed[key] = Math.max(0, (followed[key] ?? 0) - (perCommand[key] ?? 0));
    const idleHeartbeats = idle.functions.workerApi?.invocations ?? 0;
    const costs = fixedCosts({
      idle: {
        heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_MS / 1000,
        longPollSeconds: LONG_POLL_SECONDS,
        authorizerCacheSeconds: LIMITS.authorizerCacheSeconds,
        heartbeatDurationMs: meanDurationMs(idle, trivial, 'workerApi'),
        heartbeatMemoryMb: memoryMb.workerApi ?? 1024,
        // Idle, the heartbeats are the only writes (the watchdog's empty queries write nothing).
        heartbeatWru:
          idleHeartbeats > 0 && idle.aws.writeUnits > 0 ? idle.aws.writeUnits / idleHeartbeats : 1,
        authorizerDurationMs: meanDurationMs(idle, trivial, 'authorizer'),
        authorizerMemoryMb: memoryMb.authorizer ?? 1024,
      },
      follow: {
        units: followed,
        seconds: followMs / 1000,
        polls: Math.max(0, (follow!.functions.commands?.httpRequests ?? 0) - 2),
      },
      perCommand: { invocations: perCommand.lambdaInvocations, emfLines: EMF_LINES_PER_COMMAND },
      storage: await commandStorage(stack, trivialIds[0]!),
    });
    console.log(['fixed costs:', ...costs.arithmetic.map((line) => `  ${line}`)].join('\n'));
    figures.push(
      { name: 'fixed: $ per idle worker-month', value: costs.idleWorkerMonth.dollars, unit: '$' },
      { name: 'fixed: $ per follower-hour (quiet command)', value: costs.followerHour.dollars, unit: '$' },
      {
        name: 'fixed: CloudWatch Logs $ per 1000 commands',
        value: costs.logsPerCommand.dollars * 1000,
        unit: '$',
      },
      {
        name: 'fixed: DynamoDB storage with PITR, $ per GB-month',
        value: costs.storagePerCommand.dollarsPerGbMonth,
        unit: '$',
      },
      {
        name: 'fixed: stored bytes per trivial command',
        value: costs.storagePerCommand.bytes,
        unit: 'bytes',
      },
    );
    // Push (issue 12): a connected client's hour and a pushed update, as `npm run bench -- push` measured them.
    figures.push(...pushCostFigures());
    figures.push({
      name: 'idle: AWS requests per minute (local 1 s watchdog)',
      value: (totalRequests(idle.aws) / idle.seconds) * 60,
      unit: 'requests',
    });
    return {
      params: { commands, idleSeconds: idleMs / 1000, logBytes, memoryMb, prices: 'bench/lib/prices.ts' },
      figures,
      samples: {},
      floor: {
        description:
          'the least one command needs: 1 HTTP request, 1 invocation of 1 ms at 256 MB, SendMessage + ReceiveMessage + DeleteMessage, one 1-WRU write',
        samples: { dollarsPer1000Commands: [floorPer1000] },
      },
      checks: {
        everyCommandComplete: completed === commands,
        everyLogCommandComplete: logsCompleted === logCases.length,
      },
      details: {
        perCommand: { units: perCommand, dollars: dollars(perCommand) },
        perMbOfLog: logBreakdown,
        counted: {
          idle: { seconds: idle.seconds, requests: idle.aws.requests, functions: idle.functions },
          trivial: {
            seconds: trivial.seconds,
            requests: trivial.aws.requests,
            writeUnits: trivial.aws.writeUnits,
            readUnits: trivial.aws.readUnits,
            functions: trivial.functions,
          },
        },
      },
    };
  },
};
