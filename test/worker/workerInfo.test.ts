// Worker info (Buildbot's getWorkerInfo) in the heartbeat: read bounded, stored only when it changes, shown by GET /v1/workers/{name}.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { requestTally, resetRequestTally } from '../../shared/aws/clients.ts';
import * as LIMITS from '../../shared/limits.ts';
import type { WorkerInfo, WorkerView } from '../../shared/workers/types.ts';
import { COMMAND_VERSION, readWorkerInfo } from '../../worker/workerInfo.ts';
import { ownStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { commandsFixture } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { spawnWorker, stopWorker } from './helpers.ts';

// A stack of its own: the heartbeat's write units are counted in this process.
// The watchdog's schedule held off: its runs (a Query and a cursor PutItem per shard) fall into the tally's
// window whenever a loaded machine delays them, which a clean-clone CI run saw (17 writes in two heartbeats).
const t = commandsFixture(() => ownStack({ scheduleIntervalMs: 3_600_000 }));
const dirs: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function infoOf(extra: Partial<WorkerInfo> = {}): WorkerInfo {
  return {
    system: 'posix',
    platform: 'linux 6.8.0 x64',
    numcpus: 2,
    basedir: '/var/lib/bbs',
    version: '1.0.0',
    commandVersions: { shell: COMMAND_VERSION },
    files: { admin: 'Ops <ops@example.com>\n', host: 'build box 1\n' },
    osRelease: { id: 'debian' },
    ...extra,
  };
}

function beat(worker: TestWorker, body: Record<string, unknown>) {
  return t.h.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
    commands: ['shell'],
    ...body,
  });
}

async function view(worker: TestWorker): Promise<WorkerView> {
  const answer = await t.h.call<WorkerView>(t.stack.tokens.client, 'GET', `/v1/workers/${worker.name}`);
  assert.equal(answer.status, 200);
  return answer.body;
}

describe('readWorkerInfo (the worker side)', () => {
  it("reads info/ files, os-release, the CPUs and each command's version, and no environment", async () => {
    // Prepare
    const basedir = await tempDir('bbs-info-');
    await mkdir(path.join(basedir, 'info', 'subdir'), { recursive: true });
    await writeFile(path.join(basedir, 'info', 'admin'), 'Jane <jane@example.com>\n');
    await writeFile(path.join(basedir, 'info', 'host'), 'Debian 12, 2 cores é✓\n');
    await writeFile(path.join(basedir, 'info', 'access_uri'), 'ssh://build-1\n');
    await writeFile(path.join(basedir, 'info', 'binary'), Buffer.from([0xff, 0xfe, 0x00]));
    await writeFile(path.join(basedir, 'hostname-source'), 'from a link\n');
    await symlink(path.join(basedir, 'hostname-source'), path.join(basedir, 'info', 'linked'));
    const osRelease = path.join(basedir, 'os-release');
    await writeFile(
      osRelease,
      '# comment\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nEMPTY=\n\nID=debian\r\n',
    );
    process.env.BBS_TEST_SECRET_FOR_INFO = 'hunter2-must-not-leave';
    // Act
    const info = await readWorkerInfo({
      basedir,
      version: '9.9.9',
      commands: ['shell', 'mkdir'],
      osReleaseFile: osRelease,
    });
    // Assess
    assert.deepEqual(info.files, {
      access_uri: 'ssh://build-1\n',
      admin: 'Jane <jane@example.com>\n',
      host: 'Debian 12, 2 cores é✓\n',
      linked: 'from a link\n',
    });
    assert.deepEqual(info.osRelease, { name: 'Debian GNU/Linux', version_id: '12', id: 'debian' });
    assert.deepEqual(info.commandVersions, { shell: COMMAND_VERSION, mkdir: COMMAND_VERSION });
    assert.equal(info.system, 'posix');
    assert.equal(info.basedir, basedir);
    assert.equal(info.version, '9.9.9');
    assert.ok(info.numcpus >= 1);
    assert.match(info.platform, new RegExp(`^${process.platform} .+ ${process.arch}$`));
    assert.ok(!JSON.stringify(info).includes('hunter2'), 'the environment is left out');
  });

  it('bounds what it reads: the first files by name, each cut, and the whole within the byte limit', async () => {
    // Prepare: more files than the limit, each far over the value limit (multi-byte characters)
    const basedir = await tempDir('bbs-info-big-');
    await mkdir(path.join(basedir, 'info'));
    for (let i = 0; i < LIMITS.workerInfoFiles + 8; i++)
      await writeFile(path.join(basedir, 'info', `f${String(i).padStart(2, '0')}`), 'é'.repeat(100_000));
    // Act
    const info = await readWorkerInfo({
      basedir,
      version: '1',
      commands: ['shell'],
      osReleaseFile: '/nonexistent',
    });
    // Assess
    const names = Object.keys(info.files);
    assert.ok(names.length > 0 && names.length <= LIMITS.workerInfoFiles);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names[0], 'f00');
    for (const text of Object.values(info.files))
      assert.equal(text, 'é'.repeat(LIMITS.workerInfoValueLength));
    assert.ok(Buffer.byteLength(JSON.stringify(info)) <= LIMITS.workerInfoBytes);
    assert.deepEqual(info.osRelease, {});
  });

  it('sends no files when there is no info/ directory, as Buildbot does', async () => {
    // Act
    const info = await readWorkerInfo({ basedir: await tempDir('bbs-noinfo-'), version: '1', commands: [] });
    // Assess
    assert.deepEqual(info.files, {});
  });
});

describe('worker info through the heartbeat', () => {
  it('stores info on the first heartbeat and on a change only; a heartbeat without it or with the same costs 1 write unit', async () => {
    // Prepare
    const worker = await t.h.registeredWorker('info');
    const before = await view(worker);
    // Act
    resetRequestTally();
    assert.equal((await beat(worker, { info: infoOf() })).status, 200);
    const first = requestTally();
    resetRequestTally();
    await beat(worker, {});
    await beat(worker, { info: infoOf() });
    const steady = requestTally();
    const kept = await view(worker);
    resetRequestTally();
    await beat(worker, { info: infoOf({ files: { admin: 'New Admin\n' } }) });
    const changed = requestTally();
    const afterChange = await view(worker);
    await beat(worker, { commands: ['shell', 'mkdir'] });
    const commandsChanged = await view(worker);
    // Assess
    assert.equal(before.info, null);
    assert.equal(first.requests['dynamodb:TransactWriteItemsCommand'], 1);
    assert.equal(steady.requests['dynamodb:TransactWriteItemsCommand'], undefined);
    assert.equal(steady.requests['dynamodb:UpdateItemCommand'], 2);
    assert.equal(steady.writeUnits, 2, `the steady heartbeats' requests: ${JSON.stringify(steady.requests)}`);
    assert.deepEqual(kept.info, infoOf());
    assert.equal(changed.requests['dynamodb:TransactWriteItemsCommand'], 1);
    assert.deepEqual(afterChange.info?.files, { admin: 'New Admin\n' });
    assert.deepEqual(commandsChanged.commands, ['shell', 'mkdir']);
    assert.deepEqual(
      commandsChanged.info?.files,
      { admin: 'New Admin\n' },
      'a new command list keeps the info',
    );
  });

  it('refuses info out of its bounds or with unknown fields (environ) with 400, storing nothing', async () => {
    // Prepare
    const worker = await t.h.registeredWorker('badinfo');
    const many = Object.fromEntries(
      Array.from({ length: LIMITS.workerInfoFiles + 1 }, (_, i) => [`f${i}`, 'x']),
    );
    const bigFiles = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`f${i}`, 'x'.repeat(LIMITS.workerInfoValueLength)]),
    );
    const bad: [string, unknown][] = [
      ['environ', { ...infoOf(), environ: { HOME: '/root' } }],
      [
        'a file over the value limit',
        infoOf({ files: { host: 'x'.repeat(LIMITS.workerInfoValueLength + 1) } }),
      ],
      ['too many files', infoOf({ files: many })],
      ['over the byte limit as a whole', infoOf({ files: bigFiles })],
      ['no system', { ...infoOf(), system: undefined }],
      ['numcpus 0', infoOf({ numcpus: 0 })],
      ['a prototype key', { ...infoOf(), files: JSON.parse('{"__proto__": "x"}') }],
      ['a command name that is not one', infoOf({ commandVersions: { 'no spaces': '1' } })],
    ];
    for (const [what, info] of bad) {
      // Act
      const answer = await beat(worker, { info });
      // Assess
      assert.equal(answer.status, 400, `${what}: ${answer.text}`);
    }
    assert.equal((await view(worker)).info, null);
  });

  it('a real worker reports its info/ files, its commands and versions, not its environment, and a changed file', async () => {
    // Prepare
    const worker = await t.h.registeredWorker('infoproc');
    const basedir = await tempDir('bbs-infoproc-');
    await mkdir(path.join(basedir, 'info'));
    await writeFile(path.join(basedir, 'info', 'admin'), 'Jane <jane@example.com>\n');
    await writeFile(path.join(basedir, 'info', 'host'), 'first host text\n');
    const proc = await spawnWorker(t.stack, worker, [], basedir, {
      env: { BBS_TEST_SECRET: 'hunter2-env-secret' },
    });
    try {
      // Act
      const first = await view(worker);
      await writeFile(path.join(basedir, 'info', 'host'), 'second host text\n');
      const changed = await waitFor(
        'the changed info/host after the next heartbeat (every 10 s)',
        async () => {
          const seen = await view(worker);
          return seen.info?.files.host === 'second host text\n' ? seen : undefined;
        },
        25_000,
        250,
      );
      // Assess
      assert.deepEqual(first.info?.files, { admin: 'Jane <jane@example.com>\n', host: 'first host text\n' });
      assert.equal(first.info?.basedir, basedir);
      assert.equal(first.info?.commandVersions.shell, COMMAND_VERSION);
      assert.deepEqual(Object.keys(first.info?.commandVersions ?? {}).sort(), [...first.commands].sort());
      assert.equal(first.info?.version, first.version);
      assert.ok(!JSON.stringify(changed).includes('hunter2'), 'no environment in the view');
    } finally {
      await stopWorker(proc);
    }
  });
});
