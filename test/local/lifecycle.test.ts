import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startLocalStack } from '../../local/index.ts';
import { LocalStackError, ServerlessConfigError } from '../../local/errors.ts';

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

describe('local stack lifecycle', () => {
  it('serves a request, refuses a second stack meanwhile, and leaves no emulator process behind after stop()', async () => {
    // Prepare: a start that fails on its config must not hold the process's one stack.
    await assert.rejects(
      startLocalStack({ serverlessFile: '/nonexistent/serverless.yml' }),
      ServerlessConfigError,
    );
    const stack = await startLocalStack();
    const { supervisorPid, javaPid } = stack.emulators;

    // Act
    const second = await startLocalStack().catch((error: unknown) => error);
    const res = await fetch(`${stack.apiUrl}/v1/objects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.tokens.client}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lifecycle', className: 'Test' }),
    });
    await res.arrayBuffer();
    await stack.stop();
    await stack.stop();

    // Assess
    assert.ok(second instanceof LocalStackError, `second start gave ${String(second)}`);
    assert.notEqual(res.status, 404);
    assert.notEqual(res.status, 401);
    assert.equal(alive(supervisorPid), false, 'supervisor still running');
    assert.equal(alive(javaPid), false, 'java still running');
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
