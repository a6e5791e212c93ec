// Transfers through `bbs worker --engine buildbot-worker`: bbs cp both ways, bytes and sums, and what is never a success.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { artifactLocation, uploadBlob } from '../../shared/artifacts/calls.ts';
import { runBbs } from '../cli/helpers.ts';
import { buildbotWorkerAvailable } from '../conformance/harness.ts';
import { apiCaller, listArtifacts, readLog, runToEnd, startCommand, waitForCommand } from '../support/api.ts';
import { once, sha256 } from '../support/bytes.ts';
import { waitFor } from '../support/wait.ts';
import { oneWorkerFixture } from './helpers.ts';

const skip = buildbotWorkerAvailable()
  ? false
  : 'buildbot-worker is not installed (apt-get install -y buildbot-worker; .ci/run installs it)';

const t = oneWorkerFixture('stockx', ['--engine', 'buildbot-worker']);
let here: string;

function bbs(...args: string[]) {
  return runBbs(
    ['cp', ...args],
    { BBS_API_URL: t.stack.apiUrl, BBS_TOKEN: t.stack.tokens.client },
    { timeoutMs: 120_000 },
  );
}

/** Runs a command on the worker to its end: its id, view and stdio text. */
const run = (command: string, args: Record<string, unknown>) =>
  runToEnd(t.stack, t.worker.name, command, args);

const artifactsOf = (id: string) => listArtifacts(t.stack, id);

describe('transfers through --engine buildbot-worker', { skip }, () => {
  before(async () => {
    here = await mkdtemp(path.join(tmpdir(), 'bbs-stockcp-'));
  });
  after(async () => {
    if (here) await rm(here, { recursive: true, force: true });
  });

  it('bbs cp copies a file of several parts to the stock worker and back byte for byte', async () => {
    // Prepare: more than two 8 MiB parts, and not a multiple of the 1 MiB block
    const bytes = randomBytes(17 * 1024 * 1024 + 13);
    await writeFile(path.join(here, 'big.bin'), bytes);

    // Act
    const up = await bbs(path.join(here, 'big.bin'), `${t.worker.name}:conf/`);
    const down = await bbs(`${t.worker.name}:conf/big.bin`, path.join(here, 'back.bin'));

    // Assess
    assert.equal(up.code, 0, up.stderr);
    assert.ok((await readFile(path.join(t.proc.basedir, 'conf', 'big.bin'))).equals(bytes));
    assert.equal(down.code, 0, down.stderr);
    assert.ok((await readFile(path.join(here, 'back.bin'))).equals(bytes));
    const left = await readdir(path.join(t.proc.basedir, 'conf'));
    assert.deepEqual(left, ['big.bin'], 'no partial file left beside the destination');
  });

  it('bbs cp -r copies a directory from the stock worker (its tar, gz)', async () => {
    // Prepare
    await mkdir(path.join(t.proc.basedir, 'tree', 'a'), { recursive: true });
    await writeFile(path.join(t.proc.basedir, 'tree', 'a', 'f.txt'), 'in the tree');

    // Act
    const result = await bbs('-r', `${t.worker.name}:tree`, path.join(here, 'tree-copy'));

    // Assess
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(path.join(here, 'tree-copy', 'a', 'f.txt'), 'utf8'), 'in the tree');
  });

  it('bbs cp exits 1 with the header for a missing file on the stock worker', async () => {
    // Act
    const missing = await bbs(`${t.worker.name}:no/such/file`, path.join(here, 'x'));

    // Assess
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot open file 'no\/such\/file' for upload/);
    await assert.rejects(stat(path.join(here, 'x')), { code: 'ENOENT' });
  });

  it('records an empty file as an empty artifact with its sha256, and a file of exactly maxsize whole', async () => {
    // Prepare
    await writeFile(path.join(t.proc.basedir, 'empty'), '');
    await writeFile(path.join(t.proc.basedir, 'ten'), '0123456789');

    // Act
    const empty = await run('uploadFile', { workersrc: 'empty', workdir: '.', keepstamp: true });
    const exact = await run('uploadFile', { workersrc: 'ten', workdir: '.', maxsize: 10 });

    // Assess
    assert.equal(empty.view.rc, 0, empty.log);
    assert.deepEqual(
      (await artifactsOf(empty.id)).map((a) => [a.name, a.size, a.sha256]),
      [['empty', 0, sha256(Buffer.alloc(0))]],
    );
    assert.equal(exact.view.rc, 0, exact.log);
    const location = await artifactLocation(
      { apiUrl: t.stack.apiUrl, token: t.stack.tokens.client },
      exact.id,
      'ten',
    );
    assert.equal(Buffer.from(await (await fetch(location.url)).arrayBuffer()).toString(), '0123456789');
  });

  it('stops an upload over maxsize with the header and rc 1, and records nothing', async () => {
    // Prepare: larger than one block, so the stock worker has sent blocks before the stop
    await writeFile(path.join(t.proc.basedir, 'over.bin'), randomBytes(3 * 1024 * 1024));

    // Act
    const { id, view, log } = await run('uploadFile', {
      workersrc: 'over.bin',
      workdir: '.',
      maxsize: 1024 * 1024 + 5,
    });

    // Assess
    assert.equal(view.rc, 1);
    assert.match(log, /Maximum filesize reached, truncating file 'over.bin'/);
    assert.deepEqual(await artifactsOf(id), []);
  });

  it('writes a blob with its mode, and an empty blob as an empty file', async () => {
    // Prepare
    const client = { apiUrl: t.stack.apiUrl, token: t.stack.tokens.client };
    const bytes = randomBytes(2 * 1024 * 1024 + 7);
    const { blobId } = await uploadBlob(client, once(bytes), bytes.length);
    const empty = await uploadBlob(client, once(Buffer.alloc(0)), 0);

    // Act
    const moded = await run('downloadFile', {
      blob: blobId,
      workerdest: 'in/m.bin',
      workdir: '.',
      mode: 0o640,
    });
    const nothing = await run('download_file', { blob: empty.blobId, workerdest: 'in/e', workdir: '.' });

    // Assess
    assert.equal(moded.view.rc, 0, moded.log);
    const file = path.join(t.proc.basedir, 'in', 'm.bin');
    assert.ok((await readFile(file)).equals(bytes));
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    assert.equal(nothing.view.rc, 0, nothing.log);
    assert.equal((await stat(path.join(t.proc.basedir, 'in', 'e'))).size, 0);
  });

  it('ends an interrupted upload with the header and rc 1, recording nothing, and stops the stock worker', async () => {
    // Prepare: large enough to still be sending when the interrupt comes
    await writeFile(path.join(t.proc.basedir, 'long.bin'), randomBytes(96 * 1024 * 1024));
    const id = await startCommand(t.stack, t.worker.name, 'uploadFile', {
      workersrc: 'long.bin',
      workdir: '.',
    });
    await waitFor(
      'the upload to start',
      async () => (await readLog(t.stack, id)).includes('sending'),
      20_000,
    );

    // Act
    await apiCaller(t.stack)(t.stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, { why: 'test' });
    const view = await waitForCommand(t.stack, id, undefined, 60_000);

    // Assess
    assert.equal(view.rc, 1, JSON.stringify(view));
    assert.match(await readLog(t.stack, id), /uploadFile: interrupted: /);
    assert.deepEqual(await artifactsOf(id), []);
    const next = await run('shell', { workdir: '.', command: 'echo after' });
    assert.equal(next.view.rc, 0);
  });

  it('keeps the old file when a download cannot be written, and says so with rc 1', async () => {
    // Prepare: the destination's directory is a file, so the stock worker cannot write beside it
    const client = { apiUrl: t.stack.apiUrl, token: t.stack.tokens.client };
    await writeFile(path.join(t.proc.basedir, 'blocker'), 'a file');
    const { blobId } = await uploadBlob(client, once(Buffer.from('new')), 3);

    // Act
    const { view } = await run('downloadFile', { blob: blobId, workerdest: 'blocker/x', workdir: '.' });

    // Assess
    assert.equal(view.rc === 0, false, JSON.stringify(view));
    assert.equal(await readFile(path.join(t.proc.basedir, 'blocker'), 'utf8'), 'a file');
  });

  it('keeps the old file when a download is stopped after writing began, and leaves no partial file', async () => {
    // Prepare: a destination that exists, and a blob large enough to still be arriving when the interrupt comes
    const client = { apiUrl: t.stack.apiUrl, token: t.stack.tokens.client };
    await mkdir(path.join(t.proc.basedir, 'kept'), { recursive: true });
    await writeFile(path.join(t.proc.basedir, 'kept', 'old.bin'), 'old contents');
    const big = randomBytes(128 * 1024 * 1024);
    const { blobId } = await uploadBlob(client, once(big), big.length);
    const id = await startCommand(t.stack, t.worker.name, 'downloadFile', {
      blob: blobId,
      workerdest: 'kept/old.bin',
      workdir: '.',
    });
    const partialSize = async (): Promise<number> => {
      const names = await readdir(path.join(t.proc.basedir, 'kept'));
      const partial = names.find((name) => name.endsWith('.partial'));
      return partial
        ? ((await stat(path.join(t.proc.basedir, 'kept', partial)).catch(() => undefined))?.size ?? 0)
        : 0;
    };
    await waitFor(
      'the stock worker to write part of the blob',
      async () => (await partialSize()) > 0,
      30_000,
      5,
    );

    // Act
    await apiCaller(t.stack)(t.stack.tokens.client, 'POST', `/v1/commands/${id}/interrupt`, { why: 'test' });
    const view = await waitForCommand(t.stack, id, undefined, 60_000);

    // Assess
    assert.equal(view.rc === 0, false, JSON.stringify(view));
    assert.equal(await readFile(path.join(t.proc.basedir, 'kept', 'old.bin'), 'utf8'), 'old contents');
    assert.deepEqual(await readdir(path.join(t.proc.basedir, 'kept')), ['old.bin']);
  });
});
