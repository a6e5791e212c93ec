import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { sqsClient } from '../../shared/aws/clients.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import type { WorkerMessage } from '../../shared/commands/wire.ts';
import {
  apiCaller,
  getCommand,
  readLog,
  registerWorker,
  startCommand,
  waitForCommand,
} from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { alive, PARTIAL_WORKER, spawnWorker, workerStackFixture } from './helpers.ts';
import type { WorkerProcess } from './helpers.ts';

/** The worker process's part of the command lifecycle: claims, interrupts, loss, concurrency, shutdown. */
const t = workerStackFixture(useStack);

async function newWorker(
  extraArgs: string[] = [],
): Promise<{ name: string; queueUrl: string; proc: WorkerProcess }> {
  const worker = await registerWorker(t.stack, 'life');
  const proc = await spawnWorker(t.stack, worker, extraArgs);
  t.started.push(proc);
  return { name: worker.name, queueUrl: worker.queueUrl, proc };
}

async function waitForFile(file: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.trim() !== '') return text.trim();
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await sleep(25);
  }
}

describe('worker lifecycle', () => {
  it('ends an interrupted `sleep 60` as CANCELLED within 2 s, with the process gone', async () => {
    // Prepare
    const { name, proc } = await newWorker();
    const id = await startCommand(t.stack, name, 'shell', {
      command: 'echo $$ > sleep.pid; exec sleep 60',
      workdir: '.',
    });
    const pid = Number(await waitForFile(path.join(proc.basedir, 'sleep.pid')));
    await waitForCommand(t.stack, id, (view) => view.status === 'running');

    // Act
    const asked = Date.now();
    const interrupt = await apiCaller(t.stack)(
      t.stack.tokens.client,
      'POST',
      `/v1/commands/${id}/interrupt`,
      {
        why: 'test',
      },
    );
    const view = await waitForCommand(t.stack, id, undefined, 5_000);
    const took = Date.now() - asked;

    // Assess
    assert.equal(interrupt.status, 200, interrupt.text);
    assert.equal(view.results, RESULTS.CANCELLED);
    assert.ok(took < 2_000, `took ${took} ms`);
    assert.equal(alive(pid), false);
    assert.match(await readLog(t.stack, id), /command interrupted, attempting to kill\n/);
  });

  it('runs a command once when its SQS message is delivered twice', async () => {
    // Prepare
    const { name, queueUrl, proc } = await newWorker();
    const args = { command: 'echo ran >> count.txt', workdir: '.' };
    const id = await startCommand(t.stack, name, 'shell', args);
    const copy: WorkerMessage = {
      type: 'command',
      commandId: id,
      command: 'shell',
      args,
      heartbeatTimeout: 60,
    };

    // Act: one copy while the first may still be queued, one after it finished
    await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(copy) }));
    await waitForCommand(t.stack, id);
    await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(copy) }));
    const deadline = Date.now() + 10_000;
    while ((proc.output().match(new RegExp(`command ${id}: not running it`, 'g')) ?? []).length < 2) {
      assert.ok(Date.now() < deadline, `worker output:\n${proc.output()}`);
      await sleep(50);
    }

    // Assess
    assert.equal(await readFile(path.join(proc.basedir, 'count.txt'), 'utf8'), 'ran\n');
    assert.equal((await getCommand(t.stack, id)).rc, 0);
  });

  it('runs --concurrency commands at once and holds the next until a slot frees', async () => {
    // Prepare
    const { name } = await newWorker(['--concurrency', '2']);
    const args = { command: 'sleep 1.5', workdir: '.' };

    // Act
    const ids = [
      await startCommand(t.stack, name, 'shell', args),
      await startCommand(t.stack, name, 'shell', args),
      await startCommand(t.stack, name, 'shell', args),
    ];
    await sleep(1_000);
    const midway = await Promise.all(ids.map((id) => getCommand(t.stack, id)));
    const done = await Promise.all(ids.map((id) => waitForCommand(t.stack, id)));

    // Assess
    assert.deepEqual(midway.map((v) => v.status).sort(), ['queued', 'running', 'running']);
    const ends = done.map((v) => Date.parse(v.completedAt!));
    const starts = done.map((v) => Date.parse(v.startedAt!));
    const last = starts.indexOf(Math.max(...starts));
    assert.ok(starts[last]! >= Math.min(...ends.filter((_, i) => i !== last)) - 50);
    assert.ok(done.every((v) => v.results === RESULTS.SUCCESS));
  });

  it('lets a running command finish on SIGTERM, then exits 0', async () => {
    // Prepare
    const { name, queueUrl, proc } = await newWorker();
    const id = await startCommand(t.stack, name, 'shell', {
      command: 'sleep 1; echo finished',
      workdir: '.',
    });
    await waitForCommand(t.stack, id, (view) => view.status === 'running');

    // Act
    proc.child.kill('SIGTERM');
    const view = await waitForCommand(t.stack, id, undefined, 5_000);
    // A graceful stop waits for its last long poll (up to 20 s); a message ends that poll early.
    const wake: WorkerMessage = { type: 'interrupt', commandId: 'wake-up', why: 'test' };
    await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(wake) }));
    const exit = await proc.exited;

    // Assess
    assert.equal(exit.code, 0);
    assert.equal(view.status, 'complete');
    assert.equal(view.results, RESULTS.SUCCESS);
    assert.match(await readLog(t.stack, id), /finished\n/);
  });

  it('ends a command as worker_lost (RETRY) when its worker is SIGKILLed, keeping acked updates', async () => {
    // Prepare
    const { name, proc } = await newWorker();
    const id = await startCommand(
      t.stack,
      name,
      'shell',
      { command: 'echo before-the-crash; echo $$ > lost.pid; exec sleep 30', workdir: '.' },
      { timeouts: { heartbeat: 2 } },
    );
    const pid = Number(await waitForFile(path.join(proc.basedir, 'lost.pid')));
    await waitForCommand(t.stack, id, (view) => view.acked >= 0 && view.status === 'running');
    await sleep(300);

    // Act
    const killedAt = Date.now();
    proc.child.kill('SIGKILL');
    const view = await waitForCommand(t.stack, id, undefined, 10_000);

    // Assess: heartbeat timeout (2 s) + watchdog period (1 s) + slack
    assert.ok(Date.now() - killedAt < 4_500, `took ${Date.now() - killedAt} ms`);
    assert.equal(view.failure?.kind, 'worker_lost');
    assert.equal(view.results, RESULTS.RETRY);
    assert.match(await readLog(t.stack, id), /before-the-crash\n/);
    // The group keeper has killed it already (security.test.ts); this only tidies up should it not have.
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  it('hands back a message its last poll brought while stopping, and a worker without the command completes it with start_error', async () => {
    // Prepare: the full worker registers its commands, then a worker without `stat` takes over its name.
    const worker = await registerWorker(t.stack, 'partial');
    const full = await spawnWorker(t.stack, worker);
    t.started.push(full);
    // The command is sent while the stopping worker's last long poll is out: it must hand the message back.
    full.child.kill('SIGTERM');
    const id = await startCommand(t.stack, worker.name, 'stat', { path: '.' });
    assert.equal((await full.exited).code, 0);

    // Act
    const partial = await spawnWorker(t.stack, worker, [], undefined, {
      script: PARTIAL_WORKER,
      env: { BBS_TEST_DROP_COMMANDS: 'stat' },
    });
    t.started.push(partial);
    const view = await waitForCommand(t.stack, id);

    // Assess
    assert.equal(view.failure?.kind, 'start_error');
    assert.equal(view.failure?.message, "unrecognized WorkerCommand 'stat'");
  });
});
