import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The main job as a user runs it: `npm start` (local/main.ts) in one process, `bbs run` in others,
 * talking only through what main.ts prints.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 60_000;

interface Printed {
  apiUrl: string;
  clientToken: string;
}

function waitForReady(child: ChildProcess): Promise<Printed> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no API URL in time:\n${out}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const apiUrl = /^API URL\s+(\S+)/m.exec(out)?.[1];
      const clientToken = /^client token\s+(\S+)/m.exec(out)?.[1];
      // The try-it lines come last, so once they are printed the worker is polling.
      if (apiUrl && clientToken && out.includes('npx bbs run')) {
        clearTimeout(timer);
        resolve({ apiUrl, clientToken });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before it was ready:\n${out}`));
    });
  });
}

function bbs(
  printed: Printed,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'bbs.mjs'), ...args], {
      env: { ...process.env, BBS_API_URL: printed.apiUrl, BBS_TOKEN: printed.clientToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs local/main.ts (npm start's script) with `args` to its end. */
function node(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'local', 'main.ts'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start, then bbs run against it', () => {
  let main: ChildProcess;
  let printed: Printed;
  let basedir: string;
  let mainStderr = '';

  before(async () => {
    basedir = mkdtempSync(path.join(tmpdir(), 'bbs-npm-start-'));
    main = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'local', 'main.ts'), '--port', '0', '--basedir', basedir],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    main.stderr?.on('data', (chunk: Buffer) => (mainStderr += chunk.toString()));
    printed = await waitForReady(main);
  });

  after(() => {
    if (main.exitCode === null && main.signalCode === null) main.kill('SIGKILL');
    rmSync(basedir, { recursive: true, force: true });
  });

  it('prints hello and exits 0 for `bbs run -- echo hello`', async () => {
    // Act
    const result = await bbs(printed, ['run', '--', 'echo', 'hello']);

    // Assess
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.code, 0, result.stderr);
  });

  it('exits 1 for `bbs run -- false`', async () => {
    // Act
    const result = await bbs(printed, ['run', '--', 'false']);

    // Assess
    assert.equal(result.code, 1, result.stderr);
  });

  it('refuses a second npm start on the same port, naming the port and how to pick another', async () => {
    // Prepare
    const port = new URL(printed.apiUrl).port;

    // Act
    const second = await node(['--port', port]);

    // Assess
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(`port ${port} is in use .*npm start -- --port \\d+ \\(or --port 0`),
    );
    assert.doesNotMatch(second.stdout, /API URL/);
  });

  it('prints its options for npm start -- --help and exits 0', async () => {
    // Act
    const help = await node(['--help']);

    // Assess
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: npm start/);
    assert.match(help.stdout, /--port N/);
  });

  it('stops everything it started on Ctrl-C, and says what became of the running command', async () => {
    // Prepare: a command running on the worker
    const running = spawn(process.execPath, [path.join(root, 'bin', 'bbs.mjs'), 'run', '--', 'sleep', '30'], {
      env: { ...process.env, BBS_API_URL: printed.apiUrl, BBS_TOKEN: printed.clientToken },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const list = await bbs(printed, ['list', '--status', 'running', '--json']);
      if ((JSON.parse(list.stdout) as { commands: unknown[] }).commands.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Prepare: the emulators are the stack's children; find them before the stop.
    const { execFileSync } = await import('node:child_process');
    const children = (pid: number): number[] => {
      let listing: string;
      try {
        listing = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
      } catch {
        return []; // ps exits 1 when the process has no children
      }
      return listing
        .split('\n')
        .map((line) => Number(line.trim()))
        .filter((n) => n > 0);
    };
    const descendants = children(main.pid ?? 0).flatMap((pid) => [pid, ...children(pid)]);
    assert.ok(descendants.length > 0, 'npm start has emulator processes');

    // Act
    const exited = new Promise((resolve) => main.once('exit', resolve));
    main.kill('SIGINT');
    await exited;

    // Assess
    const stopDeadline = Date.now() + 5_000;
    while (descendants.some(isAlive) && Date.now() < stopDeadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(descendants.filter(isAlive), [], 'no emulator process outlives npm start');
    assert.match(
      mainStderr,
      /npm start: stopped; the 1 command\(s\) running on worker local were interrupted and recorded CANCELLED/,
      mainStderr,
    );
    running.kill('SIGKILL');
  });
});
