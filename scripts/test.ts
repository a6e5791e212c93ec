// npm test: one local stack shared by the test files, which node's test runner runs two at a time.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import { SHARED_STACK_VARIABLE } from '../test/support/stack.ts';

/**
 * Usage: `npm test [-- [--concurrency N] [FILE...]]` (every test/**\/*.test.ts outside fixtures/ by default).
 *
 * Booting a stack costs about 8 s of CPU (a JVM for DynamoDB Local, a node process for fauxqs): one per file was a
 * fifth of the suite's CPU. So this script starts one stack, hands its address to the test processes in
 * BBS_TEST_STACK, and test/support/stack.ts's useStack() uses it. The files that need a stack of their own (they
 * count the handlers' requests, serve a fixture service, or test the stack itself) still start one, and say why.
 * Most tests wait on timers and queues rather than compute, so two files at a time fill the 2 cores.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEST_DIR = path.join(ROOT, 'test');
const TEST_TIMEOUT_MS = 300_000;
const STACK_HOST = path.join(TEST_DIR, 'support', 'stackHost.ts');
/** How long the stack's process may take to stop its emulators before it is killed. */
const STACK_STOP_MS = 15_000;
/** The shared stack's process's output (handler logs, its own lines), kept out of the test report; overwritten each run. */
const STACK_LOG = path.join(ROOT, '.local-data', 'test-stack.log');

/**
 * The files that took longest in the last measured run (2026-11-26, two at a time, this round's files included), longest first: started first,
 * so that the two lanes end together instead of a long file starting last. The rest follow in name order.
 * (`node --test` sorts the files it is given by name, which is why this script calls run() itself.)
 */
const LONGEST_FIRST = [
  'test/bench/smoke.test.ts',
  'test/conformance/conformance.test.ts',
  'test/chaos/short.test.ts',
  'test/docs/examples.test.ts',
  'test/local/lifecycle.test.ts',
  'test/cli/bbs.test.ts',
  'test/e2e/npmStart.test.ts',
  'test/local/emulators.test.ts',
  'test/worker/lifecycle.test.ts',
  'test/infra/iam.test.ts',
  'test/infra/operations.test.ts',
  'test/conformance/engine.test.ts',
  'test/worker/workerInfo.test.ts',
  'test/commands/watchdogShards.test.ts',
  'test/state/cluster.test.ts',
  'test/commands/watchdog.test.ts',
  'test/commands/updates.test.ts',
  'test/artifacts/directory.test.ts',
  'test/cli/usage.test.ts',
  'test/cli/workers.test.ts',
  'test/worker/shell.test.ts',
  'test/artifacts/cp.test.ts',
  'test/local/triggers.test.ts',
  'test/commands/lifecycle.test.ts',
  'test/commands/races.test.ts',
  'test/local/config.test.ts',
];

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : testFiles(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(ROOT, full)] : [];
  });
}

function ordered(files: string[]): string[] {
  const rank = (file: string) => {
    const at = LONGEST_FIRST.indexOf(file);
    return at === -1 ? LONGEST_FIRST.length : at;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const { values, positionals } = parseArgs({
  options: { concurrency: { type: 'string', default: '2' } },
  allowPositionals: true,
});
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  console.error(`--concurrency must be a whole number of at least 1, not ${values.concurrency}`);
  process.exit(2);
}
const files = positionals.length > 0 ? positionals : ordered(testFiles(TEST_DIR));

// The SDK's notice that it will need Node 22 is noise in every process's report.
const env = { ...process.env, [ENV.awsSdkNodeVersionSupportWarningDisabled]: 'true' };

/** Starts test/support/stackHost.ts with its output going to STACK_LOG, and resolves with the stack's address. */
async function startStackHost(): Promise<{ host: ChildProcess; address: string }> {
  mkdirSync(path.dirname(STACK_LOG), { recursive: true });
  const log = openSync(STACK_LOG, 'w');
  const host = spawn(process.execPath, ['--import', 'tsx', STACK_HOST], {
    cwd: ROOT,
    stdio: ['pipe', log, log, 'ipc'],
    env,
  });
  closeSync(log);
  const address = await new Promise<string | undefined>((resolve) => {
    host.once('message', (message) => resolve(String(message)));
    host.once('exit', () => resolve(undefined));
  });
  if (address === undefined) {
    const tail = readFileSync(STACK_LOG, 'utf8').split('\n').slice(-40).join('\n');
    throw new Error(`the shared local stack did not start; the end of ${STACK_LOG}:\n${tail}`);
  }
  return { host, address };
}

/** Closes the host's stdin (it stops the stack and exits) and waits for it; SIGKILL after STACK_STOP_MS. */
async function stopStackHost(host: ChildProcess): Promise<void> {
  if (host.exitCode !== null || host.signalCode !== null) return;
  const gone = new Promise((resolve) => host.once('exit', resolve));
  host.stdin?.end();
  const killer = setTimeout(() => host.kill('SIGKILL'), STACK_STOP_MS);
  await gone;
  clearTimeout(killer);
}

const { host, address } = await startStackHost().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
const apiUrl = (JSON.parse(address) as { apiUrl: string }).apiUrl;
console.log(`# shared local stack at ${apiUrl}, its log in ${path.relative(ROOT, STACK_LOG)}`);
console.log(`# ${files.length} test files, ${concurrency} at a time`);
// The test processes inherit this environment (and this process's --import tsx).
Object.assign(process.env, env, { [SHARED_STACK_VARIABLE]: address });
let failed = false;
const report = run({ files, concurrency, timeout: TEST_TIMEOUT_MS })
  // As `node --test` does, a failed test fails the run, and a failed todo test does not.
  .on('test:fail', (data: { todo?: unknown }) => (failed ||= !data.todo))
  // The reporter that `node --test` picks: spec on a terminal, TAP (whose closing lines CI reads) otherwise.
  .compose(process.stdout.isTTY ? new spec() : tap);
report.pipe(process.stdout);
await finished(report);
await stopStackHost(host);
process.exitCode = failed ? 1 : 0;
