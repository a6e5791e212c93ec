/**
 * state: the state connector against DynamoDB Local. atomicCreateState raced by 64 callers in 4 OS
 * processes on one fresh name per round, plain and exactlyOnce; then getState and setState one after
 * the other. Floor: the single DynamoDB request underneath (a conditional PutItem, a GetItem, a PutItem)
 * through the same SDK client, so the ratio is the connector's own cost.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { join } from 'node:path';
import { dynamoDocumentClient } from '../shared/aws/clients.ts';
import * as ENV from '../shared/config.ts';
import { requireEnv } from '../shared/env.ts';
import { StateConnector } from '../shared/state/StateConnector.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { repoRoot } from './lib/paths.ts';
import { spawnLineChild } from './lib/processes.ts';
import type { Figure } from './lib/report.ts';
import { summarize } from './lib/stats.ts';
import { mergeTallies, totalRequests } from './lib/tally.ts';
import type { RaceReport, RaceRound } from './fixtures/stateRacer.ts';

const racerScript = join(repoRoot, 'bench', 'fixtures', 'stateRacer.ts');

async function timeOne(operation: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await operation();
  return performance.now() - start;
}

interface ModeResult {
  latenciesMs: number[];
  createsPerRound: number[];
  oneValuePerRound: boolean;
  requestsPerRacer: number;
  writeUnitsPerRound: number;
  readUnitsPerRound: number;
  requests: Record<string, number>;
}

export const state: Benchmark = {
  name: 'state',
  title: 'state connector: atomicCreateState races, getState and setState',
  async run(ctx) {
    const processes = size(ctx, 4, 2);
    const racersPerProcess = size(ctx, 16, 2);
    const rounds = size(ctx, 10, 1);
    const sequential = size(ctx, 500, 10);
    const stack = await ctx.stack();
    const connector = StateConnector.fromEnv(stack.env);
    const objectId = await connector.getObjectId(`bench-${Date.now()}`, 'bench.state');

    ctx.progress(`starting ${processes} racer processes × ${racersPerProcess} racers`);
    const children = Array.from({ length: processes }, () =>
      spawnLineChild(racerScript, [String(racersPerProcess)], { ...process.env, ...stack.env }),
    );
    const race = async (round: RaceRound): Promise<RaceReport[]> => {
      for (const child of children) child.send(round);
      return Promise.all(children.map((child) => child.next<RaceReport>()));
    };
    const raceMode = async (mode: RaceRound['mode']): Promise<ModeResult> => {
      const reports: RaceReport[][] = [];
      for (let round = 0; round < rounds; round += 1) {
        ctx.progress(`${mode} round ${round + 1}/${rounds}`);
        reports.push(await race({ objectId, name: `race-${mode}-${round}`, mode }));
      }
      const tally = mergeTallies(...reports.flat());
      return {
        latenciesMs: reports.flat().flatMap((r) => r.latenciesMs),
        createsPerRound: reports.map((round) => round.reduce((sum, r) => sum + r.creates, 0)),
        oneValuePerRound: reports.every((round) => new Set(round.flatMap((r) => r.values)).size === 1),
        requestsPerRacer: totalRequests(tally) / (rounds * processes * racersPerProcess),
        writeUnitsPerRound: tally.writeUnits / rounds,
        readUnitsPerRound: tally.readUnits / rounds,
        requests: tally.requests,
      };
    };
    let modes: Record<RaceRound['mode'], ModeResult>;
    try {
      // Connections and SDK set-up happen in this round, outside the figures.
      await race({ objectId, name: 'warm-up', mode: 'plain' });
      const bareConditionalPut = await raceMode('bareConditionalPut');
      const plain = await raceMode('plain');
      modes = { bareConditionalPut, plain, exactlyOnce: await raceMode('exactlyOnce') };
    } finally {
      await Promise.all(children.map((child) => child.close()));
    }

    ctx.progress(`getState / setState × ${sequential}, and their floors`);
    const client = dynamoDocumentClient(stack.env);
    const TableName = requireEnv(ENV.stateTable, stack.env);
    const floorKey = `BENCH#floor#${Date.now()}`;
    // Each operation alternates with its floor, so a burst of load from elsewhere hits both alike.
    const floorPut: number[] = [];
    const floorGet: number[] = [];
    const setState: number[] = [];
    const getState: number[] = [];
    for (let i = 0; i < sequential; i += 1) {
      floorPut.push(
        await timeOne(() =>
          client.send(new PutCommand({ TableName, Item: { pk: floorKey, sk: 'set', value: `{"i":${i}}` } })),
        ),
      );
      setState.push(await timeOne(() => connector.setState(objectId, 'sequential', { i })));
      floorGet.push(
        await timeOne(() => client.send(new GetCommand({ TableName, Key: { pk: floorKey, sk: 'set' } }))),
      );
      getState.push(await timeOne(() => connector.getState(objectId, 'sequential')));
    }

    const p = (samples: number[]) => summarize(samples);
    const figures: Figure[] = [];
    for (const mode of ['plain', 'exactlyOnce'] as const) {
      const result = modes[mode];
      const floor = p(modes.bareConditionalPut.latenciesMs);
      figures.push(
        {
          name: `atomicCreateState ${mode} p50`,
          value: p(result.latenciesMs).p50,
          unit: 'ms',
          floor: floor.p50,
        },
        {
          name: `atomicCreateState ${mode} p99`,
          value: p(result.latenciesMs).p99,
          unit: 'ms',
          floor: floor.p99,
        },
        {
          name: `atomicCreateState ${mode} create() runs per round (max)`,
          value: Math.max(...result.createsPerRound),
          unit: 'runs',
          ...(mode === 'exactlyOnce' ? { target: { op: '<=' as const, value: 1 } } : {}),
        },
        {
          name: `atomicCreateState ${mode} AWS requests per caller`,
          value: result.requestsPerRacer,
          unit: 'requests',
        },
        { name: `atomicCreateState ${mode} WRU per round`, value: result.writeUnitsPerRound, unit: 'WRU' },
        { name: `atomicCreateState ${mode} RRU per round`, value: result.readUnitsPerRound, unit: 'RRU' },
      );
    }
    figures.push(
      { name: 'getState p50', value: p(getState).p50, unit: 'ms', floor: p(floorGet).p50 },
      { name: 'getState p99', value: p(getState).p99, unit: 'ms', floor: p(floorGet).p99 },
      { name: 'setState p50', value: p(setState).p50, unit: 'ms', floor: p(floorPut).p50 },
      { name: 'setState p99', value: p(setState).p99, unit: 'ms', floor: p(floorPut).p99 },
    );
    return {
      params: { processes, racersPerProcess, racers: processes * racersPerProcess, rounds, sequential },
      figures,
      samples: {
        'atomicCreateState.plain.latencyMs': modes.plain.latenciesMs,
        'atomicCreateState.exactlyOnce.latencyMs': modes.exactlyOnce.latenciesMs,
        'atomicCreateState.plain.createsPerRound': modes.plain.createsPerRound,
        'atomicCreateState.exactlyOnce.createsPerRound': modes.exactlyOnce.createsPerRound,
        'getState.latencyMs': getState,
        'setState.latencyMs': setState,
      },
      floor: {
        description:
          'one DynamoDB request through the same SDK client: conditional PutItem, GetItem, PutItem',
        samples: {
          racedConditionalPutMs: modes.bareConditionalPut.latenciesMs,
          getItemMs: floorGet,
          putItemMs: floorPut,
        },
      },
      checks: {
        plainOneValuePerRound: modes.plain.oneValuePerRound,
        exactlyOnceOneValuePerRound: modes.exactlyOnce.oneValuePerRound,
        exactlyOnceCreateRanOncePerRound: modes.exactlyOnce.createsPerRound.every((n) => n === 1),
      },
      details: { requests: { plain: modes.plain.requests, exactlyOnce: modes.exactlyOnce.requests } },
    };
  },
};
