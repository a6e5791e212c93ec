/**
 * dispatch: the latency of one trivial command (`true`), POST /v1/commands until its completion is
 * recorded, one at a time, against the local stack with one worker in its own process. Two floors:
 * spawning `true` directly plus one loopback HTTP round trip (the least any remote execution can cost),
 * measured after the runs; and the emulator floor, the bare calls the critical path must make, one
 * after the other, through the handlers' own SDK clients (bench/lib/emulatorPath.ts), one sample after
 * each run so that both see the same load: the ratio to it says how much our code adds above the calls
 * it cannot avoid.
 *
 * With both engines (`--engine`), one worker per engine, and each run sends one command to each, one after the
 * other, so that both see the same load: the stock engine's rows are prefixed `buildbot-worker:`, a ratio row
 * divides each of its times by ours (target: within 1.5x), and its own floor is the bare stock worker, fed by
 * the agent's msgpack master with no queue or API (bench/lib/stockFloor.ts), measured after the runs.
 *
 * "Recorded" is the server's completedAt minus the moment before the POST (same clock). The client
 * polls only to know when to send the next one: it first waits QUIET_SHARE of the fastest completion
 * seen so far, then polls every 2 ms, so that its reads do not queue on DynamoDB Local (whose SQLite
 * work runs on one thread) in front of the command it waits for. What it sees is reported too.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamoDocumentClient, sqsClient } from '../shared/aws/clients.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import { commandKey } from '../shared/commands/keys.ts';
import * as ENV from '../shared/config.ts';
import type { WorkerEngineName } from '../worker/options.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, epochNow, waitComplete } from './lib/commands.ts';
import { EMULATOR_PATH_STEPS, openEmulatorPath } from './lib/emulatorPath.ts';
import type { EmulatorPath } from './lib/emulatorPath.ts';
import { engineLabel, engineRun, prefixKeys, ratioFigures } from './lib/engines.ts';
import { loopbackRoundTripSamples, spawnTrueSamples } from './lib/floors.ts';
import type { Figure } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { stockTrueSamples } from './lib/stockFloor.ts';
import { startWorkers, stopWorkers } from './lib/workers.ts';
import type { WorkerProcess } from './lib/workers.ts';

const POLL_MS = 2;
/** The client's first poll waits this share of the fastest completion recorded so far. */
const QUIET_SHARE = 0.8;
const TIMEOUT_MS = 30_000;

/** What the client measured of one engine's commands. */
interface EngineSamples {
  recordedMs: number[];
  observedMs: number[];
  postMs: number[];
  queuedMs: number[];
  runningMs: number[];
}

/** The target for the stock engine: dispatch within 1.5x of our own worker's. */
const STOCK_RATIO_TARGETS = { 'POST → completion recorded p50': { op: '<=' as const, value: 1.5 } };

/** The figures of one engine, unprefixed: ours keep their target; the stock engine's has none of its own. */
function engineFigures(
  engine: WorkerEngineName,
  samples: EngineSamples,
  floors: { p50: number; p99: number; roundTripP50: number; processP50: number | undefined },
): Figure[] {
  const recorded = summarize(samples.recordedMs);
  const figures: Figure[] = [
    {
      name: 'POST → completion recorded p50',
      value: recorded.p50,
      unit: 'ms',
      floor: floors.p50,
      ...(engine === 'native' ? { target: { op: '<=' as const, value: 10 } } : {}),
    },
    { name: 'POST → completion recorded p99', value: recorded.p99, unit: 'ms', floor: floors.p99 },
    {
      name: 'POST → client sees complete p50',
      value: summarize(samples.observedMs).p50,
      unit: 'ms',
      floor: floors.p50,
    },
    {
      name: 'POST answered (202) p50',
      value: summarize(samples.postMs).p50,
      unit: 'ms',
      floor: floors.roundTripP50,
    },
    { name: 'created → claimed p50', value: summarize(samples.queuedMs).p50, unit: 'ms' },
    // The floor of the command's own part: spawning `true` for ours, the bare stock worker running it for the stock one.
    {
      name: 'claimed → completed p50',
      value: summarize(samples.runningMs).p50,
      unit: 'ms',
      floor: floors.processP50,
    },
  ];
  return figures;
}

export const dispatch: Benchmark = {
  name: 'dispatch',
  title: 'one trivial command, POST to completion recorded, sequential',
  engines: { mode: 'within' },
  async run(ctx) {
    const runs = size(ctx, 200, 3);
    const warmUp = size(ctx, 10, 1);
    const engines = ctx.engines.engines;
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
    const db = dynamoDocumentClient(stack.env);
    const tableName = stack.env[ENV.commandsTable]!;
    const workers = new Map<WorkerEngineName, WorkerProcess>();
    const samples = new Map<WorkerEngineName, EngineSamples>(
      engines.map((engine) => [
        engine,
        { recordedMs: [], observedMs: [], postMs: [], queuedMs: [], runningMs: [] },
      ]),
    );
    const succeeded = new Map<WorkerEngineName, number>(engines.map((engine) => [engine, 0]));
    const fastestMs = new Map<WorkerEngineName, number>(engines.map((engine) => [engine, Infinity]));
    let lastCommandId = '';
    let template: Record<string, unknown> | undefined;
    let emulatorPath: EmulatorPath | undefined;
    try {
      for (const engine of engines) {
        const [worker] = await startWorkers(stack, `dispatch-${engine === 'native' ? 'n' : 'bbw'}`, 1, {
          engine: engineRun(ctx.engines, engine),
        });
        workers.set(engine, worker!);
      }
      for (let i = 0; i < warmUp + runs; i += 1) {
        if (i === warmUp) {
          ctx.progress(
            `${runs} measured runs (${engines.join(', then ')}), each followed by one sample of the emulator floor`,
          );
          // The last warm-up command's record: the floor writes records of its attributes and sizes.
          ({ Item: template } = await db.send(
            new GetCommand({ TableName: tableName, Key: commandKey(lastCommandId) }),
          ));
          emulatorPath = await openEmulatorPath({
            db,
            sqs: sqsClient(stack.env),
            tableName,
            template: template ?? {},
          });
        }
        for (const engine of engines) {
          const mine = samples.get(engine)!;
          const start = performance.now();
          const startEpoch = epochNow();
          const { commandId } = await client.startCommand({
            worker: workers.get(engine)!.name,
            ...TRIVIAL_COMMAND,
          });
          const postMs = performance.now() - start;
          const quietMs = QUIET_SHARE * fastestMs.get(engine)! - postMs;
          // Before any completion was seen there is no fastest to wait a share of (0.8 × Infinity).
          if (quietMs > 0 && Number.isFinite(quietMs)) await sleep(quietMs);
          const view = await waitComplete(client, commandId, { intervalMs: POLL_MS, timeoutMs: TIMEOUT_MS });
          const observedMs = performance.now() - start;
          if (engine === engines[0]) lastCommandId = commandId;
          const created = Date.parse(view.createdAt);
          const started = Date.parse(view.startedAt ?? view.createdAt);
          const completed = Date.parse(view.completedAt ?? view.createdAt);
          fastestMs.set(engine, Math.min(fastestMs.get(engine)!, completed - startEpoch));
          if (i < warmUp) continue;
          if (view.results === 0 && view.rc === 0) succeeded.set(engine, succeeded.get(engine)! + 1);
          mine.recordedMs.push(completed - startEpoch);
          mine.observedMs.push(observedMs);
          mine.postMs.push(postMs);
          mine.queuedMs.push(started - created);
          mine.runningMs.push(completed - started);
        }
        if (i >= warmUp) await emulatorPath!.sample();
      }
    } finally {
      await stopWorkers([...workers.values()]);
      await emulatorPath?.close();
    }

    ctx.progress('floor: spawn `true` and a loopback round trip');
    const spawnMs = await spawnTrueSamples(runs);
    const roundTripMs = await loopbackRoundTripSamples(runs);
    // Not under --smoke: a third stock worker to start (two Python processes) would double the smoke run's stock share.
    const stockTrueMs =
      engines.includes('buildbot-worker') && !ctx.smoke
        ? (ctx.progress('floor: `true` through a bare buildbot-worker, fed by the msgpack master alone'),
          await stockTrueSamples(ctx.engines.buildbotWorker, runs, warmUp))
        : [];
    const floorP50 = summarize(spawnMs).p50 + summarize(roundTripMs).p50;
    const floorP99 = summarize(spawnMs).p99 + summarize(roundTripMs).p99;
    const pathSamples = emulatorPath!.samples;
    const emulator = summarize(pathSamples.totalMs);
    const figures: Figure[] = [];
    const byEngine = new Map<WorkerEngineName, Figure[]>();
    const outcomeSamples: Record<string, number[]> = {};
    for (const engine of engines) {
      const mine = samples.get(engine)!;
      const processMs = engine === 'native' ? spawnMs : stockTrueMs;
      const processP50 = processMs.length ? summarize(processMs).p50 : undefined;
      const own = engineFigures(engine, mine, {
        p50: floorP50,
        p99: floorP99,
        roundTripP50: summarize(roundTripMs).p50,
        processP50,
      });
      byEngine.set(engine, own);
      figures.push(...own.map((figure) => ({ ...figure, name: engineLabel(engine, figure.name) })));
      Object.assign(outcomeSamples, prefixKeys(engine, { ...mine }, '.'));
      if (engine === engines[0]) {
        const recorded = summarize(mine.recordedMs);
        figures.push(
          { name: 'emulator floor (bare critical-path calls) p50', value: emulator.p50, unit: 'ms' },
          { name: 'emulator floor (bare critical-path calls) p99', value: emulator.p99, unit: 'ms' },
          {
            name: `${engineLabel(engine, 'POST → completion recorded p50')} over the emulator floor`,
            value: recorded.p50,
            unit: 'ms',
            floor: emulator.p50,
          },
          {
            name: `${engineLabel(engine, 'POST → completion recorded p99')} over the emulator floor`,
            value: recorded.p99,
            unit: 'ms',
            floor: emulator.p99,
          },
        );
      }
    }
    const native = byEngine.get('native');
    const stock = byEngine.get('buildbot-worker');
    if (native && stock) figures.push(...ratioFigures(native, stock, STOCK_RATIO_TARGETS));
    return {
      params: {
        runs,
        warmUp,
        pollMs: POLL_MS,
        quietShare: QUIET_SHARE,
        workers: engines.length,
        engines,
        command: TRIVIAL_COMMAND,
      },
      figures,
      samples: outcomeSamples,
      floor: {
        description:
          'spawn `true` and wait for its exit, plus one fetch POST to a node http server on 127.0.0.1; ' +
          'and the emulator floor (emulatorPathMs), one sample after each run: the calls in ' +
          "details.emulatorFloor.calls, one after the other, through the handlers' SDK clients" +
          (stockTrueMs.length
            ? '; for the stock engine, `true` through a bare buildbot-worker fed by the msgpack master alone ' +
              '(stockTrueMs: start() to done, no queue, no API)'
            : ''),
        samples: {
          spawnTrueMs: spawnMs,
          loopbackRoundTripMs: roundTripMs,
          ...(stockTrueMs.length ? { stockTrueMs } : {}),
          emulatorPathMs: pathSamples.totalMs,
          ...Object.fromEntries(
            Object.entries(pathSamples.stepMs).map(([step, values]) => [`emulatorPath.${step}Ms`, values]),
          ),
        },
      },
      checks: {
        ...Object.fromEntries(
          engines.map((engine) => [
            engineLabel(engine, 'everyCommandSucceeded'),
            succeeded.get(engine) === runs,
          ]),
        ),
        floorTemplateFound: template !== undefined,
      },
      details: {
        emulatorFloor: {
          calls: EMULATOR_PATH_STEPS.map(({ key, call }) => ({
            step: key,
            call,
            p50Ms: summarize(pathSamples.stepMs[key]).p50,
          })),
          note:
            'the total spans what the figure spans: from the POST to the moment the ending UpdateItem is ' +
            'sent (completedAt is stamped then); the ending write is timed apart (endingUpdate). The ' +
            "worker's long poll waits before the send, as it does in the system. Left out: the completion " +
            "event (SendMessage + clear, after completedAt), the worker's batched DeleteMessage, the " +
            'cached authorizer and worker-record reads.',
          p50Ms: emulator.p50,
          p99Ms: emulator.p99,
          ratioP50: summarize(samples.get(engines[0]!)!.recordedMs).p50 / emulator.p50,
          ratioP99: summarize(samples.get(engines[0]!)!.recordedMs).p99 / emulator.p99,
        },
      },
    };
  },
};
