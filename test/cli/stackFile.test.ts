// `bbs` finds the stack `npm start` runs through the file npm start writes (0600), and says what to do when it is stale.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StackFileDirectoryError } from '../../cli/errors.ts';
import { readStackFile, removeStackFile, stackFilePath, writeStackFile } from '../../cli/stackFile.ts';
import { runBbs } from './helpers.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const made: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

function fakeStack(config: string, apiUrl: string, pid: number): void {
  writeStackFile(
    {
      apiUrl,
      clientToken: 'client-token-value',
      adminToken: 'admin-token-value',
      consoleUrl: `${apiUrl}/#token=client-token-value`,
      pid,
      startedAt: new Date().toISOString(),
    },
    stackFilePath({ XDG_CONFIG_HOME: config }),
  );
}

describe('bbs and the file npm start writes', () => {
  it('runs a command on the stack npm start started, with no exports, and the file goes when npm start stops', async () => {
    // Prepare
    const config = tempDir('bbs-config-');
    const basedir = tempDir('bbs-basedir-');
    const file = stackFilePath({ XDG_CONFIG_HOME: config });
    const start = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'local', 'main.ts'), '--port', '0', '--basedir', basedir],
      { cwd: root, env: { ...process.env, XDG_CONFIG_HOME: config }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise((resolve) => start.once('exit', resolve));
    try {
      let printed = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`npm start was not ready in time:\n${printed}`)),
          90_000,
        );
        start.stdout.on('data', (chunk: Buffer) => {
          printed += chunk.toString();
          if (printed.includes('npx bbs run')) {
            clearTimeout(timer);
            resolve();
          }
        });
        start.once('exit', () => reject(new Error(`npm start exited early:\n${printed}`)));
      });

      // Act
      const result = await runBbs(
        ['run', '--', 'echo', 'hello'],
        { XDG_CONFIG_HOME: config },
        { timeoutMs: 60_000 },
      );

      // Assess
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'hello\n');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
      const recorded = readStackFile(file)!;
      assert.equal(recorded.pid, start.pid);
      assert.match(printed, new RegExp(`^Console\\s+${recorded.apiUrl}/#token=`, 'm'));
      assert.ok(printed.includes(file), 'npm start says where it wrote the file');
    } finally {
      start.kill('SIGINT');
      await exited;
    }
    assert.equal(existsSync(file), false, 'npm start removed the file when it stopped');
  });

  it('says the stack has stopped, and what to do, when the npm start that wrote the file is gone', async () => {
    // Prepare
    const config = tempDir('bbs-config-');
    fakeStack(config, 'http://127.0.0.1:9', deadPid());

    // Act
    const result = await runBbs(['run', '--', 'echo', 'hello'], { XDG_CONFIG_HOME: config });

    // Assess
    assert.equal(result.code, 64);
    assert.match(
      result.stderr,
      /has stopped \(its npm start, pid \d+, is gone\): run npm start again, or set BBS_API_URL/,
    );
    assert.doesNotMatch(result.stderr, /client-token-value/);
  });

  it('says the recorded stack does not answer, and what to do, when its URL is unreachable', async () => {
    // Prepare: a live pid (this test's own) and a port nothing listens on.
    const config = tempDir('bbs-config-');
    fakeStack(config, 'http://127.0.0.1:9', process.pid);

    // Act
    const result = await runBbs(['list'], { XDG_CONFIG_HOME: config });

    // Assess
    assert.equal(result.code, 69);
    assert.match(
      result.stderr,
      /cannot reach the local stack at http:\/\/127\.0\.0\.1:9.*run npm start again, or set BBS_API_URL/,
    );
  });

  it('blames the URL given with --api-url, not the recorded stack, when that URL does not answer', async () => {
    // Prepare: a recorded stack (live pid), and another unreachable URL named on the command line
    const config = tempDir('bbs-config-');
    fakeStack(config, 'http://127.0.0.1:9', process.pid);

    // Act
    const result = await runBbs(['list', '--api-url', 'http://127.0.0.1:7', '--token', 't'], {
      XDG_CONFIG_HOME: config,
    });

    // Assess
    assert.equal(result.code, 69);
    assert.match(result.stderr, /cannot reach the API.*check --api-url \/ BBS_API_URL/);
    assert.doesNotMatch(result.stderr, /local stack|npm start/);
  });

  it('prefers BBS_API_URL to the file', async () => {
    // Prepare
    const config = tempDir('bbs-config-');
    fakeStack(config, 'http://127.0.0.1:9', process.pid);

    // Act
    const result = await runBbs(['list'], { XDG_CONFIG_HOME: config, BBS_API_URL: 'http://127.0.0.1:7' });

    // Assess
    assert.match(result.stderr, /no token: pass --token or set BBS_TOKEN/);
  });
});

describe('the stack file on a hostile disk', () => {
  const file = (pid: number) => ({
    apiUrl: 'http://127.0.0.1:1',
    clientToken: 'c',
    adminToken: 'a',
    consoleUrl: 'http://127.0.0.1:1/#token=c',
    pid,
    startedAt: new Date().toISOString(),
  });

  it('refuses a config directory that is a link, and writes nothing through it', () => {
    // Prepare: buildbot-serverless/ is a symlink to somewhere else
    const config = tempDir('bbs-stackfile-link-');
    const elsewhere = tempDir('bbs-stackfile-elsewhere-');
    symlinkSync(elsewhere, path.join(config, 'buildbot-serverless'));
    const target = path.join(config, 'buildbot-serverless', 'local.json');

    // Act & Assess
    assert.throws(() => writeStackFile(file(process.pid), target), StackFileDirectoryError);
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  it('closes an open config directory to 0700 and leaves no temporary file', () => {
    // Prepare
    const config = tempDir('bbs-stackfile-open-');
    const dir = path.join(config, 'buildbot-serverless');
    mkdirSync(dir);
    chmodSync(dir, 0o755);

    // Act
    writeStackFile(file(process.pid), path.join(dir, 'local.json'));

    // Assess
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path.join(dir, 'local.json')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['local.json']);
  });

  it("removes only its own file: not another npm start's, not one it cannot read as ours", () => {
    // Prepare
    const dir = tempDir('bbs-stackfile-own-');
    const target = path.join(dir, 'local.json');
    writeStackFile(file(process.pid + 1), target);

    // Act & Assess: another pid's file stays
    removeStackFile(process.pid, target);
    assert.ok(existsSync(target));
    // a file that is not one of ours stays
    writeFileSync(target, 'not json');
    removeStackFile(process.pid, target);
    assert.ok(existsSync(target));
    // our own goes
    writeStackFile(file(process.pid), target);
    removeStackFile(process.pid, target);
    assert.equal(existsSync(target), false);
  });
});
