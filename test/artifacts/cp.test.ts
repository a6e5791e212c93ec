// `bbs cp` as a real process against a real worker, and the client's checksum check on a download that was changed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import { ChecksumMismatchError } from '../../shared/artifacts/errors.ts';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { runBbs } from '../cli/helpers.ts';
import { registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { spawnWorker, workerStackFixture } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

const t = workerStackFixture(useStack);
let worker: { name: string; proc: WorkerProcess };
let here: string;
let ready: Promise<void> | undefined;

function setUp(): Promise<void> {
  ready ??= (async () => {
    const registered = await registerWorker(t.stack, 'xcp');
    const proc = await spawnWorker(t.stack, registered);
    t.started.push(proc);
    worker = { name: registered.name, proc };
    here = await mkdtemp(path.join(tmpdir(), 'bbs-cp-'));
  })();
  return ready;
}

after(async () => {
  if (here) await rm(here, { recursive: true, force: true });
});

function bbs(...args: string[]) {
  return runBbs(
    ['cp', ...args],
    { BBS_API_URL: t.stack.apiUrl, BBS_TOKEN: t.stack.tokens.client },
    { timeoutMs: 60_000 },
  );
}

describe('bbs cp', () => {
  beforeEach(setUp);

  it('copies a file to a worker and back byte for byte, keeping the name for a trailing slash', async () => {
    // Prepare
    const bytes = randomBytes(3 * 1024 * 1024 + 11);
    await writeFile(path.join(here, 'config.bin'), bytes);

    // Act
    const up = await bbs(path.join(here, 'config.bin'), `${worker.name}:conf/`);
    const down = await bbs(`${worker.name}:conf/config.bin`, path.join(here, 'back.bin'));

    // Assess
    assert.equal(up.code, 0, up.stderr);
    assert.ok((await readFile(path.join(worker.proc.basedir, 'conf', 'config.bin'))).equals(bytes));
    assert.equal(down.code, 0, down.stderr);
    assert.ok((await readFile(path.join(here, 'back.bin'))).equals(bytes));
  });

  it('copies a directory from a worker with -r, unpacked into a new directory', async () => {
    // Prepare
    await mkdir(path.join(worker.proc.basedir, 'tree', 'a'), { recursive: true });
    await writeFile(path.join(worker.proc.basedir, 'tree', 'a', 'f.txt'), 'in the tree');

    // Act
    const result = await bbs('-r', `${worker.name}:tree`, path.join(here, 'tree-copy'));

    // Assess
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await readFile(path.join(here, 'tree-copy', 'a', 'f.txt'), 'utf8'), 'in the tree');
  });

  it('exits 1 with the worker’s header for a missing file, and 64 for two local paths', async () => {
    // Act
    const missing = await bbs(`${worker.name}:no/such/file`, path.join(here, 'x'));
    const usage = await bbs('a', 'b');

    // Assess
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot open file 'no\/such\/file' for upload/);
    await assert.rejects(stat(path.join(here, 'x')), { code: 'ENOENT' });
    assert.equal(usage.code, 64);
  });
});

describe('CommandsClient.downloadArtifact', () => {
  beforeEach(setUp);

  it('refuses bytes whose sha256 is not the recorded one (the stored object replaced under it)', async () => {
    // Prepare: an artifact, then its object overwritten in the emulator's S3 with other bytes of the same size.
    const api = new CommandsClient({ apiUrl: t.stack.apiUrl, token: t.stack.tokens.client });
    await writeFile(path.join(worker.proc.basedir, 'sum.bin'), Buffer.alloc(1000, 1));
    const commandId = await startCommand(t.stack, worker.name, 'uploadFile', {
      workersrc: 'sum.bin',
      workdir: '.',
    });
    assert.equal((await waitForCommand(t.stack, commandId)).rc, 0);
    const bucket = t.stack.env.ARTIFACTS_BUCKET!;
    const s3 = t.stack.env.AWS_ENDPOINT_URL_S3!;
    const replaced = await fetch(`${s3}/${bucket}/artifacts/${commandId}/sum.bin`, {
      method: 'PUT',
      body: Buffer.alloc(1000, 2),
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(replaced.status, 200);

    // Act, Assess
    await assert.rejects(
      api.downloadArtifact(commandId, 'sum.bin', createWriteStream(path.join(here, 'changed.bin'))),
      ChecksumMismatchError,
    );
  });
});
