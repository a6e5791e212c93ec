import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import type { RacerEvent, RacerJob, RacerResult } from './racer.ts';

/**
 * Cluster races between real OS processes: each racer (racer.ts) is a separate node process with its
 * own connector and SDK client, all started together on a stdin line. The processes are started once and
 * given a job per race (starting 4 processes per race took most of this file's time).
 */
const RACER = fileURLToPath(new URL('./racer.ts', import.meta.url));
const PROCESSES = 4;
const CALLERS = 16;
/** A racer that has not finished its job in this long is killed and the test fails. */
const RACER_TIMEOUT_MS = 60_000;

/** One job on one racer process. */
interface Run {
  ready: Promise<void>;
  creating: Promise<void>;
  done: Promise<RacerResult[]>;
  go(): void;
}

interface Racer {
  child: ChildProcessWithoutNullStreams;
  /** Hands the process its next job. */
  run(job: RacerJob): Run;
}

let stack: TestStack;
let connector: StateConnector;
let scratch: string;
let objectId: number;
let racers: Racer[] = [];

function spawnRacer(): Racer {
  const child = spawn(process.execPath, ['--import', 'tsx', RACER], {
    env: { ...process.env, ...stack.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const noop = (): void => undefined;
  // The callbacks of the job in hand; a racer runs one job at a time.
  let current = {
    ready: noop,
    creating: noop,
    done: (_results: RacerResult[]): void => undefined,
    fail: (_error: Error): void => undefined,
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = JSON.parse(line) as RacerEvent;
    if (event.event === 'ready') current.ready();
    if (event.event === 'creating') current.creating();
    if (event.event === 'done') current.done(event.results);
  });
  child.on('close', (code, signal) =>
    current.fail(new Error(`racer exited (${code ?? signal}) without results: ${stderr.slice(-2000)}`)),
  );
  return {
    child,
    run(job) {
      let onReady = noop;
      const ready = new Promise<void>((resolve) => (onReady = resolve));
      let onCreating = noop;
      const creating = new Promise<void>((resolve) => (onCreating = resolve));
      const done = new Promise<RacerResult[]>((resolve, reject) => {
        const killer = setTimeout(() => child.kill('SIGKILL'), RACER_TIMEOUT_MS);
        current = {
          ready: onReady,
          creating: onCreating,
          done: (results) => {
            clearTimeout(killer);
            resolve(results);
          },
          fail: (error) => {
            clearTimeout(killer);
            reject(error);
          },
        };
      });
      // A racer that dies before it is ready fails the test through `done`.
      done.catch(() => undefined);
      child.stdin.write(`${JSON.stringify(job)}\n`);
      return { ready, creating, done, go: () => child.stdin.write('go\n') };
    },
  };
}

/** Ends every racer: stdin closed, then SIGKILL for one that does not exit within 5 s. */
async function stopRacers(): Promise<void> {
  await Promise.all(
    racers.map(async ({ child }) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('close', resolve));
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(killer);
    }),
  );
}

/** Gives every racer the job, waits until all are ready, releases them at once and collects every result. */
async function race(job: Omit<RacerJob, 'label'>): Promise<RacerResult[]> {
  // A racer a test killed is replaced here, not while another race runs: a starting process takes CPU from it.
  racers = racers.map((racer) =>
    racer.child.exitCode !== null || racer.child.signalCode !== null ? spawnRacer() : racer,
  );
  const runs = racers.map((racer, i) => racer.run({ ...job, label: `p${i}` }));
  await Promise.race([Promise.all(runs.map((r) => r.ready)), Promise.all(runs.map((r) => r.done))]);
  for (const run of runs) run.go();
  return (await Promise.all(runs.map((r) => r.done))).flat();
}

function values(results: RacerResult[]): unknown[] {
  return results.map((result) => {
    assert.ok('value' in result, `a caller failed: ${JSON.stringify(result)}`);
    return result.value;
  });
}

function runsFile(name: string): string {
  const file = join(scratch, `${name}.runs`);
  writeFileSync(file, '');
  return file;
}

function runs(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

describe('state connector across processes', () => {
  before(async () => {
    stack = await useStack();
    connector = StateConnector.fromEnv();
    scratch = mkdtempSync(join(tmpdir(), 'state-cluster-'));
    objectId = await connector.getObjectId('cluster', 'StateClusterTest');
    racers = Array.from({ length: PROCESSES }, () => spawnRacer());
  });

  after(async () => {
    await stopRacers();
    rmSync(scratch, { recursive: true, force: true });
    await stack?.release();
  });

  it('gives one object id to 4 processes × 16 callers asking for a new name at once', async () => {
    // Act
    const results = await race({ op: 'objectId', name: 'raced-object', callers: CALLERS });
    // Assess
    const ids = new Set(values(results));
    assert.equal(results.length, PROCESSES * CALLERS);
    assert.equal(ids.size, 1);
    assert.deepEqual([...ids], [await connector.getObjectId('raced-object', 'Racer')]);
  });

  it('stores one value for 4 processes × 16 callers creating it at once', async () => {
    // Prepare
    const file = runsFile('plain');
    // Act
    const results = await race({ op: 'create', name: 'plain', objectId, callers: CALLERS, runsFile: file });
    // Assess
    const created = new Set(values(results));
    assert.equal(created.size, 1);
    assert.deepEqual([...created], [await connector.getState(objectId, 'plain')]);
    assert.ok(runs(file).length >= 1);
  });

  it('runs create() exactly once across 4 processes × 16 callers with exactlyOnce', async () => {
    // Prepare
    const file = runsFile('once');
    // Act
    const results = await race({
      op: 'createOnce',
      name: 'once',
      objectId,
      callers: CALLERS,
      runsFile: file,
      createMs: 300,
      leaseMs: 5000,
    });
    // Assess
    const created = new Set(values(results));
    assert.equal(results.length, PROCESSES * CALLERS);
    assert.equal(created.size, 1);
    assert.deepEqual(runs(file), [...created]);
    assert.deepEqual([...created], [await connector.getState(objectId, 'once')]);
  });

  it('lets one waiting process take over when the lease holder is SIGKILLed mid-create', async () => {
    // Prepare: waiters ready first, then a holder that takes the lease and never finishes.
    const file = runsFile('killed');
    const leaseMs = 1500;
    const waiters = racers.slice(0, -1).map((racer, i) =>
      racer.run({
        op: 'createOnce',
        name: 'killed',
        objectId,
        callers: CALLERS,
        runsFile: file,
        createMs: 50,
        leaseMs,
        label: `w${i}`,
      }),
    );
    const holding = racers.at(-1)!;
    const holder = holding.run({
      op: 'createOnce',
      name: 'killed',
      objectId,
      callers: 1,
      runsFile: file,
      createMs: 60_000,
      leaseMs,
      label: 'holder',
    });
    await Promise.all([...waiters, holder].map((r) => r.ready));
    holder.go();
    await holder.creating;
    const leaseTakenAt = Date.now();
    for (const waiter of waiters) waiter.go();
    // Act
    holding.child.kill('SIGKILL');
    const results = (await Promise.all(waiters.map((w) => w.done))).flat();
    // Assess
    const created = new Set(values(results));
    assert.equal(created.size, 1);
    const [value] = [...created];
    assert.match(String(value), /^w\d+:\d+$/, 'a waiter created the value');
    assert.ok(Date.now() - leaseTakenAt >= leaseMs - 100, 'nobody took over before the lease expired');
    assert.deepEqual(
      runs(file).filter((run) => !run.startsWith('holder')),
      [value],
    );
    assert.equal(await connector.getState(objectId, 'killed'), value);
  });

  it('refuses the value of an expired holder that comes back late (fencing): LeaseLostError, taker value kept', async () => {
    // Prepare: the holder's create() outlives its lease; another process takes over meanwhile.
    const file = runsFile('late');
    const leaseMs = 800;
    const late = racers[0]!.run({
      op: 'createOnce',
      name: 'late',
      objectId,
      callers: 1,
      runsFile: file,
      createMs: 3000,
      leaseMs,
      label: 'late',
    });
    const taker = racers[1]!.run({
      op: 'createOnce',
      name: 'late',
      objectId,
      callers: CALLERS,
      runsFile: file,
      createMs: 10,
      leaseMs,
      label: 'taker',
    });
    await Promise.all([late.ready, taker.ready]);
    late.go();
    await late.creating;
    taker.go();
    // Act
    const [lateResults, takerResults] = await Promise.all([late.done, taker.done]);
    // Assess
    const created = new Set(values(takerResults));
    assert.equal(created.size, 1);
    const [value] = [...created];
    assert.match(String(value), /^taker:\d+$/);
    assert.deepEqual(lateResults, [
      {
        error: 'LeaseLostError',
        details: { objectId, name: 'late', hasStoredValue: true, storedValue: value },
      },
    ]);
    assert.equal(await connector.getState(objectId, 'late'), value);
    assert.equal(runs(file).length, 2);
  });
});
