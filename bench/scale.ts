/**
 * scale: the design's load at internet scale, measured on the local stack and extrapolated with the arithmetic
 * printed. Three parts:
 *   1. Partitions. Quiet and chatty commands run through the HTTP API (scaleLoad.ts) while SDK middleware books
 *      every read and write unit to its partition key per second (lib/partitionTally.ts). Keys whose load grows
 *      with the number of running commands (the deadline index's shards) give the hottest partition's load per
 *      1,000 running commands and the count at which it reaches 50 % of 1,000 WCU or 3,000 RCU. Keys whose load
 *      is per command or per worker are reported as they are. Time is compressed (heartbeat timeout 60 s / k).
 *   2. The watchdog at AWS's 60 s cadence with a set arrival rate (scaleWatchdog.ts): lag after each run.
 *   3. Heartbeats against the account's API quota (10,000 requests a second).
 * Arrival rate: `SCALE_ARRIVALS_PER_SECOND` (default 116, 10 M commands a day); the other sizes below.
 */
import { startLocalStack } from '../local/index.ts';
import { awsEndpoint, documentClientOf } from '../shared/aws/clients.ts';
import * as ENV from '../shared/config.ts';
import * as LIMITS from '../shared/limits.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { PartitionTally, loadsByKey } from './lib/partitionTally.ts';
import type { KeyLoad } from './lib/partitionTally.ts';
import type { Figure } from './lib/report.ts';
import { DEFAULT_HEARTBEAT_SECONDS, runLoad } from './scaleLoad.ts';
import type { LoadRun } from './scaleLoad.ts';
import { driveWatchdog } from './scaleWatchdog.ts';

/** AWS's per-partition limits, and the share of them a design may plan to use. */
const PARTITION_WCU = 1000;
const PARTITION_RCU = 3000;
const PLANNED_SHARE = 0.5;
/** The account's default HTTP API quota, requests a second (shared by every route). */
const API_QUOTA_RPS = 10_000;
/** Lambda's CPU share at the watchdog's 1,024 MB (1,769 MB is one vCPU). */
const WATCHDOG_VCPU = 1024 / 1769;
const TARGET_RUNNING = 100_000;
const TARGET_COMMANDS_PER_DAY = 10_000_000;
const TARGET_WORKERS = 10_000;

const round = (value: number, digits = 3): number => Number(value.toPrecision(digits));

/** The hottest of `shards` keys when `running` commands spread over them: mean + 3 standard deviations. */
function skew(running: number, shards: number): number {
  const perShard = running / shards;
  return perShard <= 0 ? 1 : 1 + (3 * Math.sqrt(perShard * (1 - 1 / shards))) / perShard;
}

/** The running-command count at which the hottest shard takes `limit` units a second at `perCommand` each. */
function countAtLimit(perCommand: number, limit: number, shards: number): number {
  if (perCommand <= 0) return Infinity;
  let running = (limit * shards) / perCommand;
  for (let i = 0; i < 20; i++) running = (limit * shards) / (perCommand * skew(running, shards));
  return running;
}

function sum(loads: KeyLoad[], pick: (load: KeyLoad) => number): number {
  return loads.reduce((total, load) => total + pick(load), 0);
}

export const scale: Benchmark = {
  name: 'scale',
  title: 'partition load, watchdog lag and API quota at internet scale, extrapolated from the local stack',
  async run(ctx) {
    const load = {
      workers: size(ctx, 4, 2),
      quiet: size(ctx, 90, 6),
      chatty: size(ctx, 30, 2),
      chattyEveryMs: 1000,
      // 4x: heartbeat timeout 15 s, a quiet heartbeat every 5 s. More compression makes a request delayed by
      // the loaded 2-core machine end its command (worker_lost), and the count no longer runs.
      compression: 4,
      seconds: size(ctx, 60, 12),
    };
    const arrivals = Number(process.env[ENV.scaleArrivalsPerSecond] || TARGET_COMMANDS_PER_DAY / 86_400);
    const drive = { perSecond: size(ctx, arrivals, 5), failing: 0.01, runs: size(ctx, 6, 2) };
    const shards = LIMITS.dueShards;
    const lines: string[] = [];
    const say = (line: string) => lines.push(line);

    // Its own stack: the shared one's watchdog runs every second, and this one drives its own.
    const stack = await startLocalStack({ scheduleIntervalMs: 3_600_000, pollWaitSeconds: 1 });
    let loadRun: LoadRun;
    let loads: KeyLoad[] = [];
    let seconds = 0;
    let driven;
    try {
      const tally = new PartitionTally({
        [stack.env[ENV.commandsTable]!]: 'commands',
        [stack.env[ENV.stateTable]!]: 'state',
      });
      tally.attach(documentClientOf(awsEndpoint(stack.env)));
      loadRun = await runLoad(
        stack,
        load,
        async () => {
          ctx.progress(`measuring for ${load.seconds} s`);
          tally.start();
          await new Promise((resolve) => setTimeout(resolve, load.seconds * 1000));
          const window = tally.stop();
          seconds = window.seconds;
          loads = loadsByKey(window);
        },
        ctx.progress,
      );
      ctx.progress(`watchdog at a 60 s cadence, ${drive.perSecond} commands a second arriving`);
      driven = await driveWatchdog(stack, drive, ctx.progress);
    } finally {
      await stack.stop();
    }

    // 1. Partitions
    const k = load.compression;
    // Booked over the commands started; everyRequestAnswered and everyCommandKeptRunning say they all ran.
    const running = loadRun.started;
    const shardLoads = loads.filter((l) => /^commands\|dueByDeadline\|DUE#\d+$/.test(l.key));
    const shardWcu = sum(shardLoads, (l) => l.meanWcu);
    const shardRcu = sum(shardLoads, (l) => l.meanRcu);
    const perCommandWcu = shardWcu / running / k;
    const perCommandRcu = shardRcu / running / k;
    const hottestPer1000 = ((perCommandWcu * 1000) / shards) * skew(1000, shards);
    const hottestRcuPer1000 = ((perCommandRcu * 1000) / shards) * skew(1000, shards);
    const at100k = ((perCommandWcu * TARGET_RUNNING) / shards) * skew(TARGET_RUNNING, shards);
    const wcuLimitCount = countAtLimit(perCommandWcu, PARTITION_WCU * PLANNED_SHARE, shards);
    const rcuLimitCount = countAtLimit(perCommandRcu, PARTITION_RCU * PLANNED_SHARE, shards);
    // Finite for the report (a window with no move at all, possible only at smoke sizes, gives Infinity).
    const limitCount = Math.min(wcuLimitCount, rcuLimitCount, 1e12);
    say(
      `1. Partitions: ${running} commands (${load.quiet} quiet, ${load.chatty} chatty) on ${load.workers} workers, measured ${seconds.toFixed(1)} s`,
    );
    say(
      `   time compressed ${k}x: heartbeat timeout ${loadRun.heartbeatTimeoutSeconds} s for the default ${DEFAULT_HEARTBEAT_SECONDS} s, watchdog every ${60 / k} s`,
    );
    say(
      `   deadline index, all ${shards} shards: ${round(shardWcu)} WCU/s measured / ${running} commands / ${k} = ${round(perCommandWcu)} WCU/s per running command`,
    );
    say(
      `     (2 WCU per move: one move per ${round(2 / perCommandWcu)} s per command at the default timeout)`,
    );
    say(
      `   hottest shard per 1,000 running: ${round(perCommandWcu)} x 1,000 / ${shards} x ${round(skew(1000, shards))} (mean + 3 sd) = ${round(hottestPer1000)} WCU/s, ${round(hottestRcuPer1000)} RCU/s`,
    );
    say(
      `   at ${TARGET_RUNNING.toLocaleString('en-US')} running: ${round(perCommandWcu)} x ${TARGET_RUNNING} / ${shards} x ${round(skew(TARGET_RUNNING, shards))} = ${round(at100k)} WCU/s = ${round((100 * at100k) / PARTITION_WCU)} % of ${PARTITION_WCU}`,
    );
    say(
      `   50 % of a partition (${PARTITION_WCU * PLANNED_SHARE} WCU/s or ${PARTITION_RCU * PLANNED_SHARE} RCU/s) at ${Math.round(limitCount).toLocaleString('en-US')} running commands (WCU bound ${Math.round(wcuLimitCount).toLocaleString('en-US')}, RCU bound ${Number.isFinite(rcuLimitCount) ? Math.round(rcuLimitCount).toLocaleString('en-US') : 'none'})`,
    );
    const entriesPerShardMinute = TARGET_COMMANDS_PER_DAY / 1440 / shards;
    say(
      `   the watchdog's reads of a shard (keys only, ~70 B: 58 entries per 4 KB, 0.5 RCU eventually consistent) at ` +
        `${TARGET_COMMANDS_PER_DAY.toLocaleString('en-US')} commands a day: ${Math.round(entriesPerShardMinute)} entries a minute ` +
        `per shard = ${round(((entriesPerShardMinute / 58) * 0.5) / 60)} RCU/s`,
    );
    const perKeyClass = (pattern: RegExp) => loads.filter((l) => pattern.test(l.key));
    const commandKeys = perKeyClass(/^commands\|table\|CMD#/);
    const hottestCommand = commandKeys[0];
    const workerKeys = perKeyClass(/^commands\|table\|WORKER#/).sort(
      (a, b) => b.meanWcu + b.meanRcu / 3 - (a.meanWcu + a.meanRcu / 3),
    );
    const hottestWorker = workerKeys[0];
    const perWorker = running / load.workers;
    if (hottestCommand)
      say(
        `   hottest command record (per command, whatever the count): ${round(hottestCommand.meanWcu)} WCU/s, ${round(hottestCommand.meanRcu)} RCU/s (a chatty command, one batch every ${load.chattyEveryMs} ms)`,
      );
    if (hottestWorker) {
      const scaled = LIMITS.workerConcurrency / perWorker;
      say(
        `   hottest worker record with ${perWorker} commands: ${round(hottestWorker.meanWcu)} WCU/s, ${round(hottestWorker.meanRcu)} RCU/s; at ${LIMITS.workerConcurrency} commands (x ${round(scaled)}, all of it taken as per command): ${round(hottestWorker.meanWcu * scaled)} WCU/s, ${round(hottestWorker.meanRcu * scaled)} RCU/s`,
      );
    }
    say(
      `   byWorker takes 1 WCU per start on the worker's key: ${round((PARTITION_WCU * PLANNED_SHARE) / LIMITS.workerConcurrency, 2)} starts/s per running command of a full worker, i.e. commands shorter than ${round(LIMITS.workerConcurrency / (PARTITION_WCU * PLANNED_SHARE), 2)} s`,
    );
    const others = loads.filter((l) => !/\|(CMD#|DUE#\d)/.test(l.key)).slice(0, 6);
    for (const other of others)
      say(
        `   ${other.key}: ${round(other.meanWcu)} WCU/s, ${round(other.meanRcu)} RCU/s (peak second ${round(other.peakWcu)} / ${round(other.peakRcu)})`,
      );

    // 2. Watchdog
    const steady = driven.slice(1);
    const maxLag = Math.max(...steady.map((s) => s.lagSeconds));
    const scanned = driven.reduce((total, s) => total + s.scanned, 0);
    const cpuMs = driven.reduce((total, s) => total + s.cpuMs, 0);
    const ended = driven.reduce((total, s) => total + s.ended, 0);
    const cpuPerEntryMs = cpuMs / Math.max(1, scanned);
    const awsEntriesPerMinute = (LIMITS.watchdogRunSeconds * 1000 * WATCHDOG_VCPU) / cpuPerEntryMs;
    const perMinute = Math.round(drive.perSecond * 60);
    say(
      `2. Watchdog: a run every (virtual) 60 s, ${perMinute} entries arriving a minute (${round(drive.perSecond)}/s = ${Math.round(drive.perSecond * 86_400).toLocaleString('en-US')} commands a day), ${drive.failing * 100} % of them to end`,
    );
    for (const s of driven)
      say(
        `   run ${s.run}: ${s.scanned} read, ${s.ended} ended, ${s.tookMs} ms, ${Math.round(s.cpuMs)} ms CPU, lag ${s.lagSeconds.toFixed(1)} s${s.exhausted ? '' : ' (out of time)'}`,
      );
    say(
      `   CPU per entry (the stack's in-process consumer and SQS emulator included): ${cpuMs.toFixed(0)} ms / ${scanned} = ${round(cpuPerEntryMs)} ms`,
    );
    say(
      `   on AWS at 1,024 MB (${round(WATCHDOG_VCPU)} vCPU): ${LIMITS.watchdogRunSeconds} s x ${round(WATCHDOG_VCPU)} / ${round(cpuPerEntryMs)} ms = ${Math.round(awsEntriesPerMinute).toLocaleString('en-US')} entries a minute; needed ${perMinute.toLocaleString('en-US')} (x ${round(awsEntriesPerMinute / perMinute)} headroom)`,
    );

    // 3. Heartbeats
    const workerRps = TARGET_WORKERS / (loadRun.heartbeatIntervalMs / 1000);
    const quietRps = TARGET_RUNNING / (DEFAULT_HEARTBEAT_SECONDS / 3);
    say(
      `3. Heartbeats: ${TARGET_WORKERS.toLocaleString('en-US')} workers / ${loadRun.heartbeatIntervalMs / 1000} s = ${workerRps} requests/s = ${round((100 * workerRps) / API_QUOTA_RPS)} % of ${API_QUOTA_RPS.toLocaleString('en-US')}`,
    );
    say(
      `   plus a quiet command's own heartbeat every ${DEFAULT_HEARTBEAT_SECONDS / 3} s: ${TARGET_RUNNING.toLocaleString('en-US')} quiet commands = ${quietRps} requests/s = ${round((100 * quietRps) / API_QUOTA_RPS)} % of the quota`,
    );
    console.log(lines.join('\n'));

    const figures: Figure[] = [
      { name: 'deadline index: WCU/s per running command', value: perCommandWcu, unit: 'WCU/s' },
      { name: 'hottest partition per 1,000 running commands', value: hottestPer1000, unit: 'WCU/s' },
      {
        name: `hottest partition at ${TARGET_RUNNING} running, % of ${PARTITION_WCU} WCU`,
        value: (100 * at100k) / PARTITION_WCU,
        unit: '%',
        target: { op: '<=', value: 50 },
      },
      {
        name: 'running commands at 50 % of a partition',
        value: limitCount,
        unit: 'commands',
        target: { op: '>=', value: TARGET_RUNNING },
      },
      {
        name: `watchdog lag at ${Math.round(drive.perSecond * 86_400)} commands/day (max after run 1)`,
        value: maxLag,
        unit: 's',
        target: { op: '<', value: 60 },
      },
      {
        name: 'watchdog entries a minute on AWS (CPU bound, 1,024 MB)',
        value: awsEntriesPerMinute,
        unit: 'entries',
        target: { op: '>=', value: TARGET_COMMANDS_PER_DAY / 1440 },
      },
      {
        name: `${TARGET_WORKERS} workers' heartbeats, % of the API quota`,
        value: (100 * workerRps) / API_QUOTA_RPS,
        unit: '%',
        target: { op: '<', value: 10 },
      },
      {
        name: `${TARGET_RUNNING} quiet commands' heartbeats, % of the API quota`,
        value: (100 * quietRps) / API_QUOTA_RPS,
        unit: '%',
      },
    ];
    return {
      params: { load, drive, shards, compression: k },
      figures,
      samples: {
        watchdogLagSeconds: driven.map((s) => s.lagSeconds),
        watchdogRunMs: driven.map((s) => s.tookMs),
      },
      floor: {
        description:
          "AWS's limits the figures are held to: one partition's WCU and RCU a second, the account's API quota",
        samples: {
          partitionWcu: [PARTITION_WCU],
          partitionRcu: [PARTITION_RCU],
          apiQuotaRps: [API_QUOTA_RPS],
        },
      },
      checks: {
        everyRequestAnswered: loadRun.failures === 0,
        everyCommandKeptRunning: loadRun.running === loadRun.started,
        everyFailingCommandEnded:
          ended === driven.reduce((total, s) => total + Math.round(s.arrived * drive.failing), 0),
      },
      details: {
        arithmetic: lines,
        failureSamples: loadRun.failureSamples,
        requests: loadRun.requests,
        hottestKeys: loads.slice(0, 30),
        watchdogRuns: driven,
      },
    };
  },
};
