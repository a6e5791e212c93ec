/**
 * dispatch: the latency of one trivial command (`true`), POST /v1/commands until its completion is
 * recorded, one at a time, against the local stack with one worker in its own process. Two floors:
 * spawning `true` directly plus one loopback HTTP round trip (the least any remote execution can cost),
 * measured after the runs; and the emulator floor, the bare calls the critical path must make, one
 * after the other, through the handlers' own SDK clients (bench/lib/emulatorPath.ts), one sample after
 * each run so that both see the same load: the ratio to it says how much our code adds above the calls
 * it cannot avoid.
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
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { TRIVIAL_COMMAND, epochNow, waitComplete } from './lib/commands.ts';
import { EMULATOR_PATH_STEPS, openEmulatorPath } from './lib/emulatorPath.ts';
import type { EmulatorPath } from './lib/emulatorPath.ts';
import { loopbackRoundTripSamples, spawnTrueSamples } from './lib/floors.ts';
import { summarize } from './lib/stats.ts';
import { startWorkers, stopWorkers } from './lib/workers.ts';

const POLL_MS = 2;
/** The client's first poll waits this share of the fastest completion recorded so far. */
const QUIET_SHARE = 0.8;
const TIMEOUT_MS = 30_000;

export const dispatch: Benchmark = {
  name: 'dispatch',
  title: 'one trivial command, POST to completion recorded, sequential',
  async run(ctx) {
    const runs = size(ctx, 200, 3);
    const warmUp = size(ctx, 10, 1);
    const stack = await ctx.stack();
    const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client });
    const db = dynamoDocumentClient(stack.env);
    const tableName = stack.env[ENV.commandsTable]!;
    const [worker] = await startWorkers(stack, 'dispatch', 1);
    const samples = {
      recordedMs: [] as number[],
      observedMs: [] as number[],
      postMs: [] as number[],
      queuedMs: [] as number[],
      runningMs: [] as number[],
    };
    let succeeded = 0;
    let fastestMs = Infinity;
    let lastCommandId = '';
    let template: Record<string, unknown> | undefined;
    let emulatorPath: EmulatorPath | undefined;
    try {
      for (let i = 0; i < warmUp + runs; i += 1) {
        if (i === warmUp) {
          ctx.progress(`${runs} measured runs, each followed by one sample of the emulator floor`);
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
        const start = performance.now();
        const startEpoch = epochNow();
        const { commandId } = await client.startCommand({ worker: worker!.name, ...TRIVIAL_COMMAND });
        const postMs = performance.now() - start;
        const quietMs = QUIET_SHARE * fastestMs - postMs;
        if (quietMs > 0) await sleep(quietMs);
        const view = await waitComplete(client, commandId, { intervalMs: POLL_MS, timeoutMs: TIMEOUT_MS });
        const observedMs = performance.now() - start;
        lastCommandId = commandId;
        const created = Date.parse(view.createdAt);
        const started = Date.parse(view.startedAt ?? view.createdAt);
        const completed = Date.parse(view.completedAt ?? view.createdAt);
        fastestMs = Math.min(fastestMs, completed - startEpoch);
        if (i < warmUp) continue;
        if (view.results === 0 && view.rc === 0) succeeded += 1;
        samples.recordedMs.push(completed - startEpoch);
        samples.observedMs.push(observedMs);
        samples.postMs.push(postMs);
        samples.queuedMs.push(started - created);
        samples.runningMs.push(completed - started);
        await emulatorPath!.sample();
      }
    } finally {
      await stopWorkers(worker ? [worker] : []);
      await emulatorPath?.close();
    }

    ctx.progress('floor: spawn `true` and a loopback round trip');
    const spawnMs = await spawnTrueSamples(runs);
    const roundTripMs = await loopbackRoundTripSamples(runs);
    const floorP50 = summarize(spawnMs).p50 + summarize(roundTripMs).p50;
    const floorP99 = summarize(spawnMs).p99 + summarize(roundTripMs).p99;
    const pathSamples = emulatorPath!.samples;
    const emulator = summarize(pathSamples.totalMs);
    const recorded = summarize(samples.recordedMs);
    const observed = summarize(samples.observedMs);
    return {
      params: {
        runs,
        warmUp,
        pollMs: POLL_MS,
        quietShare: QUIET_SHARE,
        workers: 1,
        command: TRIVIAL_COMMAND,
      },
      figures: [
        {
          name: 'POST → completion recorded p50',
          value: recorded.p50,
          unit: 'ms',
          floor: floorP50,
          target: { op: '<=', value: 10 },
        },
        { name: 'POST → completion recorded p99', value: recorded.p99, unit: 'ms', floor: floorP99 },
        { name: 'emulator floor (bare critical-path calls) p50', value: emulator.p50, unit: 'ms' },
        { name: 'emulator floor (bare critical-path calls) p99', value: emulator.p99, unit: 'ms' },
        {
          name: 'POST → completion recorded p50 over the emulator floor',
          value: recorded.p50,
          unit: 'ms',
          floor: emulator.p50,
        },
        {
          name: 'POST → completion recorded p99 over the emulator floor',
          value: recorded.p99,
          unit: 'ms',
          floor: emulator.p99,
        },
        { name: 'POST → client sees complete p50', value: observed.p50, unit: 'ms', floor: floorP50 },
        {
          name: 'POST answered (202) p50',
          value: summarize(samples.postMs).p50,
          unit: 'ms',
          floor: summarize(roundTripMs).p50,
        },
        { name: 'created → claimed p50', value: summarize(samples.queuedMs).p50, unit: 'ms' },
        {
          name: 'claimed → completed p50',
          value: summarize(samples.runningMs).p50,
          unit: 'ms',
          floor: summarize(spawnMs).p50,
        },
      ],
      samples,
      floor: {
        description:
          'spawn `true` and wait for its exit, plus one fetch POST to a node http server on 127.0.0.1; ' +
          'and the emulator floor (emulatorPathMs), one sample after each run: the calls in ' +
          "details.emulatorFloor.calls, one after the other, through the handlers' SDK clients",
        samples: {
          spawnTrueMs: spawnMs,
          loopbackRoundTripMs: roundTripMs,
          emulatorPathMs: pathSamples.totalMs,
          ...Object.fromEntries(
            Object.entries(pathSamples.stepMs).map(([step, values]) => [`emulatorPath.${step}Ms`, values]),
          ),
        },
      },
      checks: { everyCommandSucceeded: succeeded === runs, floorTemplateFound: template !== undefined },
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
          ratioP50: recorded.p50 / emulator.p50,
          ratioP99: recorded.p99 / emulator.p99,
        },
      },
    };
  },
};
