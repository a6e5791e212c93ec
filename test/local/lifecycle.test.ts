import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { ServerlessConfigError } from '../../local/errors.ts';
import * as ENV from '../../shared/config.ts';
import { apiCaller, expectStatus, startCommand } from '../support/api.ts';

const CHILD = fileURLToPath(new URL('../fixtures/stack-child.ts', import.meta.url));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function goneWithin(pids: number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) return false;
    await new Promise((wake) => setTimeout(wake, 50));
  }
  return true;
}

interface ChildReport {
  pid: number;
  supervisorPid: number;
  javaPid: number;
  apiUrl: string;
  item?: unknown;
}

/** Runs test/fixtures/stack-child.ts and resolves with its first stdout line (and the child, to kill or await). */
function runChild(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const firstLine = new Promise<ChildReport>((resolveLine, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolveLine(JSON.parse(line) as ChildReport),
    );
    void exited.then((code) =>
      reject(new Error(`child exited with ${code} before reporting: ${stderr.slice(-2000)}`)),
    );
  });
  return { child, firstLine, exited };
}

/** A worker named `twin` on `stack`, online with the shell command registered (the same name on every stack). */
async function onlineWorker(stack: LocalStack): Promise<string> {
  const call = apiCaller(stack);
  const { token } = expectStatus(
    await call<{ token: string }>(stack.tokens.admin, 'POST', '/v1/workers', { name: 'twin' }),
    201,
    'POST /v1/workers',
  );
  expectStatus(
    await call(token, 'POST', '/v1/workers/twin/heartbeat', { commands: ['shell'], running: 0 }),
    200,
    'heartbeat',
  );
  return 'twin';
}

describe('local stack lifecycle', () => {
  it('runs two stacks in one process, each serving only its own commands, and leaves no emulator behind after stop()', async () => {
    // Prepare: a start that fails on its config leaves nothing running; then two stacks, each with a worker
    await assert.rejects(
      startLocalStack({ serverlessFile: '/nonexistent/serverless.yml' }),
      ServerlessConfigError,
    );
    const stacks = await Promise.all([startLocalStack(), startLocalStack()]);
    try {
      const [one, two] = stacks;
      const workers = await Promise.all(stacks.map((stack) => onlineWorker(stack)));

      // Act: a command on each, on a worker of the same name
      const ids = await Promise.all(
        stacks.map((stack, i) => startCommand(stack, workers[i]!, 'shell', { command: 'true' })),
      );
      const own = await Promise.all(
        stacks.map((stack, i) => apiCaller(stack)(stack.tokens.client, 'GET', `/v1/commands/${ids[i]}`)),
      );
      const other = await Promise.all(
        stacks.map((stack, i) => apiCaller(stack)(stack.tokens.client, 'GET', `/v1/commands/${ids[1 - i]}`)),
      );
      const tallies = stacks.map((stack) => stack.tallies());

      // Assess: each stack stored its own command and knows nothing of the other's
      assert.deepEqual(
        own.map((answer) => answer.status),
        [200, 200],
      );
      assert.deepEqual(
        other.map((answer) => answer.status),
        [404, 404],
      );
      // The same table and worker names: only the endpoints tell the two apart, to the SDK clients and the caches.
      assert.equal(one!.env[ENV.commandsTable], two!.env[ENV.commandsTable]);
      assert.notEqual(one!.env[ENV.awsEndpointUrlDynamodb], two!.env[ENV.awsEndpointUrlDynamodb]);
      // Each counted its own three requests to the commands function (the start and two reads), not six.
      for (const tally of tallies) assert.equal(tally.functions.commands?.httpRequests, 3);
      // and its functions' DynamoDB writes went to its own emulator's count.
      for (const tally of tallies)
        assert.ok((tally.aws.requests['dynamodb:PutItemCommand'] ?? 0) > 0, JSON.stringify(tally.aws));
      // Neither wrote its environment into the process's: its functions read it through runWithEnv.
      assert.notEqual(process.env[ENV.awsEndpointUrlDynamodb], one!.env[ENV.awsEndpointUrlDynamodb]);
      assert.notEqual(process.env[ENV.awsEndpointUrlDynamodb], two!.env[ENV.awsEndpointUrlDynamodb]);
    } finally {
      await Promise.all(stacks.map((stack) => stack.stop()));
    }
    await stacks[0]!.stop();

    // Assess: stop() is idempotent and ends every emulator
    for (const { emulators } of stacks) {
      assert.equal(alive(emulators.supervisorPid), false, 'supervisor still running');
      assert.equal(alive(emulators.javaPid), false, 'java still running');
    }
  });

  it('ends java and the supervisor within seconds when the process holding the stack is SIGKILLed', async () => {
    // Prepare
    const { child, firstLine, exited } = runChild(['hold']);
    const report = await firstLine;
    assert.ok(alive(report.javaPid) && alive(report.supervisorPid));

    // Act
    child.kill('SIGKILL');
    await exited;

    // Assess
    assert.ok(
      await goneWithin([report.supervisorPid, report.javaPid], 5000),
      'emulators outlived their parent',
    );
  });

  it('keeps tables and items across restarts with persistDir', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'bbs-persist-'));
    try {
      const put = runChild(['put', dir]);
      await put.firstLine;
      assert.equal(await put.exited, 0);

      // Act
      const get = runChild(['get', dir]);
      const report = await get.firstLine;

      // Assess
      assert.equal(await get.exited, 0);
      assert.deepEqual(report.item, { pk: 'OBJ#persist-test', sk: 'STATE#kept', value: '"kept"' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with the install hint when java is not on the PATH', async () => {
    // Prepare
    // node is started by its absolute path; java is looked up on the PATH, which here holds nothing.
    const env = { ...process.env, PATH: join(tmpdir(), 'bbs-no-such-dir') };

    // Act
    const { firstLine, exited } = runChild(['hold'], env);

    // Assess
    await assert.rejects(
      firstLine,
      /DynamoDB Local needs Java 17\+: `apt-get install -y default-jre-headless`/,
    );
    assert.notEqual(await exited, 0);
  });
});
