// uploadFile and downloadFile run by a real worker process against the local stack: bytes, sums, maxsize, bad paths.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { artifactLocation, uploadBlob } from '../../shared/artifacts/calls.ts';
import type { ApiConnection } from '../../shared/client/http.ts';
import { listArtifacts, readLog, registerWorker, runToEnd } from '../support/api.ts';
import { once, sha256 } from '../support/bytes.ts';
import { useStack } from '../support/stack.ts';
import { spawnWorker, workerStackFixture } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

const t = workerStackFixture(useStack);
let worker: { name: string; proc: WorkerProcess };
let client: ApiConnection;

/** Runs a command on the worker to its end: its id, view and stdio text. */
const run = (command: string, args: Record<string, unknown>) =>
  runToEnd(t.stack, worker.name, command, args, 20_000);

const artifactsOf = (id: string) => listArtifacts(t.stack, id);

let ready: Promise<void> | undefined;

/** One worker process for the file, started by the first test (the stack's hook has run by then). */
function setUp(): Promise<void> {
  ready ??= (async () => {
    const registered = await registerWorker(t.stack, 'xfer');
    const proc = await spawnWorker(t.stack, registered);
    t.started.push(proc);
    worker = { name: registered.name, proc };
    client = { apiUrl: t.stack.apiUrl, token: t.stack.tokens.client };
    await mkdir(path.join(proc.basedir, 'build'), { recursive: true });
  })();
  return ready;
}

describe('uploadFile', () => {
  beforeEach(setUp);

  it('stores a file of two parts as an artifact whose size and sha256 the worker computed', async () => {
    // Prepare
    const bytes = randomBytes(9 * 1024 * 1024 + 321);
    await writeFile(path.join(worker.proc.basedir, 'build', 'out.bin'), bytes);

    // Act
    const { id, view } = await run('uploadFile', {
      workersrc: 'out.bin',
      workdir: 'build',
      blocksize: 16384,
    });
    const location = await artifactLocation(client, id, 'out.bin');
    const got = Buffer.from(await (await fetch(location.url)).arrayBuffer());

    // Assess
    assert.equal(view.rc, 0, JSON.stringify(view));
    const [artifact] = await artifactsOf(id);
    assert.deepEqual(
      { name: artifact?.name, size: artifact?.size, sha256: artifact?.sha256 },
      {
        name: 'out.bin',
        size: bytes.length,
        sha256: sha256(bytes),
      },
    );
    assert.equal(location.sha256, sha256(bytes));
    assert.ok(got.equals(bytes));
  });

  it('runs under its snake_case name, and stores an empty file', async () => {
    // Prepare
    await writeFile(path.join(worker.proc.basedir, 'build', 'empty'), '');

    // Act
    const { id, view } = await run('upload_file', { workersrc: 'empty', workdir: 'build', keepstamp: true });

    // Assess
    assert.equal(view.rc, 0, JSON.stringify(view) + (await readLog(t.stack, id)));
    assert.deepEqual(
      (await artifactsOf(id)).map((a) => [a.name, a.size, a.sha256]),
      [['empty', 0, sha256(Buffer.alloc(0))]],
    );
  });

  it('stops over maxsize with Buildbot’s header and rc 1, and records nothing', async () => {
    // Prepare
    await writeFile(path.join(worker.proc.basedir, 'build', 'big.txt'), 'x'.repeat(100));

    // Act
    const { id, view, log } = await run('uploadFile', {
      workersrc: 'big.txt',
      workdir: 'build',
      maxsize: 10,
    });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /Maximum filesize reached, truncating file 'big.txt'/);
    assert.deepEqual(await artifactsOf(id), []);
  });

  it("ends a missing file with Buildbot's 'Cannot open file' header and rc 1", async () => {
    // Act
    const { view, log } = await run('uploadFile', { workersrc: 'nothing-here', workdir: 'build' });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /Cannot open file 'nothing-here' for upload/);
  });

  it('refuses a traversal in workersrc and in workdir, and a symlink that leads out', async () => {
    // Prepare
    await symlink('/etc/hostname', path.join(worker.proc.basedir, 'build', 'out-link')).catch(
      () => undefined,
    );

    // Act
    const runs = await Promise.all([
      run('uploadFile', { workersrc: '../../../etc/passwd', workdir: 'build' }),
      run('uploadFile', { workersrc: 'passwd', workdir: '../../../etc' }),
      run('uploadFile', { workersrc: '/etc/passwd', workdir: 'build' }),
      run('uploadFile', { workersrc: 'out-link', workdir: 'build' }),
    ]);

    // Assess
    for (const { view } of runs) assert.equal(view.failure?.kind, 'start_error', JSON.stringify(view));
    for (const { id } of runs) assert.deepEqual(await artifactsOf(id), []);
  });
});

describe('downloadFile', () => {
  beforeEach(setUp);

  it("writes a client's blob byte for byte, making its directories and setting its mode", async () => {
    // Prepare
    const bytes = randomBytes(9 * 1024 * 1024 + 5);
    const { blobId } = await uploadBlob(client, once(bytes), bytes.length);

    // Act
    const { view } = await run('download_file', {
      blob: blobId,
      workerdest: 'deep/er/in.bin',
      workdir: 'build',
      mode: 0o640,
    });

    // Assess
    assert.equal(view.rc, 0, JSON.stringify(view));
    const file = path.join(worker.proc.basedir, 'build', 'deep', 'er', 'in.bin');
    assert.ok((await readFile(file)).equals(bytes));
    assert.equal((await stat(file)).mode & 0o777, 0o640);
  });

  it('stops over maxsize with the header and rc 1, and writes nothing', async () => {
    // Prepare
    const { blobId } = await uploadBlob(client, once(Buffer.alloc(100, 1)), 100);

    // Act
    const { view, log } = await run('downloadFile', {
      blob: blobId,
      workerdest: 'small',
      workdir: 'build',
      maxsize: 10,
    });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /Maximum filesize reached, truncating file 'small'/);
    await assert.rejects(stat(path.join(worker.proc.basedir, 'build', 'small')), { code: 'ENOENT' });
  });

  it('ends a blob that does not exist with a header naming it and rc 1', async () => {
    // Act
    const { view, log } = await run('downloadFile', {
      blob: 'e'.repeat(32),
      workerdest: 'none',
      workdir: 'build',
    });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /no blob e{32}/);
  });

  it('refuses a traversal in workerdest and in workdir, and a symlink that leads out', async () => {
    // Prepare
    await symlink('/tmp', path.join(worker.proc.basedir, 'build', 'tmp-link')).catch(() => undefined);
    const blob = 'a'.repeat(32);

    // Act
    const runs = await Promise.all([
      run('downloadFile', { blob, workerdest: '../../x', workdir: 'build' }),
      run('downloadFile', { blob, workerdest: 'x', workdir: '../..' }),
      run('downloadFile', { blob, workerdest: 'tmp-link/x', workdir: 'build' }),
    ]);

    // Assess
    for (const { view } of runs) assert.equal(view.failure?.kind, 'start_error', JSON.stringify(view));
  });
});
