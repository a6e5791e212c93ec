// uploadDirectory run by a real worker process: a tar (plain, gz, bz2) that `tar` unpacks to the same tree, and bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, it } from 'node:test';
import { artifactLocation } from '../../shared/artifacts/calls.ts';
import type { ArtifactList } from '../../shared/artifacts/wire.ts';
import { apiCaller, registerWorker, runToEnd } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { spawnWorker, workerStackFixture } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

const t = workerStackFixture(useStack);
const exec = promisify(execFile);
let worker: { name: string; proc: WorkerProcess };
let ready: Promise<void> | undefined;
const big = randomBytes(9 * 1024 * 1024);

/** One worker for the file, with a tree to upload: nested files, an empty file, a large one, a link inside. */
function setUp(): Promise<void> {
  ready ??= (async () => {
    const registered = await registerWorker(t.stack, 'xdir');
    const proc = await spawnWorker(t.stack, registered);
    t.started.push(proc);
    worker = { name: registered.name, proc };
    const tree = path.join(proc.basedir, 'build', 'out');
    await mkdir(path.join(tree, 'a', 'b'), { recursive: true });
    await writeFile(path.join(tree, 'a', 'b', 'x.txt'), 'hello\n');
    await writeFile(path.join(tree, 'empty'), '');
    await writeFile(path.join(tree, 'big.bin'), big);
    await symlink('a/b/x.txt', path.join(tree, 'link'));
  })();
  return ready;
}

/** Runs a command on the worker to its end: its id, view and stdio text. */
const run = (command: string, args: Record<string, unknown>) => runToEnd(t.stack, worker.name, command, args);

/** Downloads the command's artifact `name` and unpacks it with the machine's tar: the directory it made. */
async function unpacked(id: string, name: string, flag: string): Promise<string> {
  const location = await artifactLocation({ apiUrl: t.stack.apiUrl, token: t.stack.tokens.client }, id, name);
  const dir = await mkdtemp(path.join(tmpdir(), 'bbs-untar-'));
  await writeFile(path.join(dir, name), Buffer.from(await (await fetch(location.url)).arrayBuffer()));
  await mkdir(path.join(dir, 'x'));
  await exec('tar', [`-x${flag}f`, path.join(dir, name), '-C', path.join(dir, 'x')]);
  return path.join(dir, 'x');
}

describe('uploadDirectory', () => {
  beforeEach(setUp);

  for (const [compress, suffix, flag] of [
    [null, '.tar', ''],
    ['gz', '.tar.gz', 'z'],
    ['bz2', '.tar.bz2', 'j'],
  ] as const)
    it(`stores the tree as out${suffix}, which tar unpacks to the same files and link`, async () => {
      // Act
      const { id, view } = await run(compress === 'gz' ? 'upload_directory' : 'uploadDirectory', {
        workersrc: 'out',
        workdir: 'build',
        compress,
      });

      // Assess
      assert.equal(view.rc, 0, JSON.stringify(view));
      const dir = await unpacked(id, `out${suffix}`, flag);
      try {
        assert.equal(await readFile(path.join(dir, 'a', 'b', 'x.txt'), 'utf8'), 'hello\n');
        assert.equal(await readFile(path.join(dir, 'link'), 'utf8'), 'hello\n');
        assert.equal((await readFile(path.join(dir, 'empty'))).length, 0);
        assert.ok((await readFile(path.join(dir, 'big.bin'))).equals(big));
      } finally {
        await rm(path.dirname(dir), { recursive: true, force: true });
      }
    });

  it('stops over maxsize with the header and rc 1, and records nothing', async () => {
    // Act
    const { id, view, log } = await run('uploadDirectory', {
      workersrc: 'out',
      workdir: 'build',
      maxsize: 1000,
    });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /Maximum filesize reached, truncating file 'out'/);
    const answer = await apiCaller(t.stack)<ArtifactList>(
      t.stack.tokens.client,
      'GET',
      `/v1/commands/${id}/artifacts`,
    );
    assert.deepEqual(answer.body.artifacts, []);
  });

  it('refuses a traversal, a symlink out and an unknown compression as start errors', async () => {
    // Prepare
    await symlink('/etc', path.join(worker.proc.basedir, 'build', 'etc-link')).catch(() => undefined);

    // Act
    const runs = await Promise.all([
      run('uploadDirectory', { workersrc: '../../../etc', workdir: 'build' }),
      run('uploadDirectory', { workersrc: 'out', workdir: '../..' }),
      run('uploadDirectory', { workersrc: 'etc-link', workdir: 'build' }),
      run('uploadDirectory', { workersrc: 'out', workdir: 'build', compress: 'zip' }),
    ]);

    // Assess
    for (const { view } of runs) assert.equal(view.failure?.kind, 'start_error', JSON.stringify(view));
  });
});
