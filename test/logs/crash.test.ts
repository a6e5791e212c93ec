import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { RESULTS } from '../../shared/commands/types.ts';
import { readLog, readUpdates, registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { clients, commandItems } from '../commands/helpers.ts';
import { spawnWorker, workerStackFixture } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

/**
 * Crash cases of log objects with real worker processes on the local stack: a worker killed mid-upload, an
 * upload whose record failed, a record whose answer was lost. None loses or duplicates a byte of the log.
 */
const t = workerStackFixture(useStack);
const SEAM_WORKER = new URL('./fixtures/seamWorker.ts', import.meta.url).pathname;

/** Random base64 lines, output that does not compress: 12 MB makes two log objects at least. */
function randomLines(bytes: number): string {
  const lines: string[] = [];
  for (let at = 0; at < bytes; at += 1000)
    lines.push(`${randomBytes(750).toString('base64').slice(0, 999)}\n`);
  return lines.join('');
}

async function seamWorker(fault: string): Promise<{ name: string; proc: WorkerProcess }> {
  const worker = await registerWorker(t.stack, 'crash');
  const proc = await spawnWorker(t.stack, worker, [], undefined, {
    script: SEAM_WORKER,
    env: { BBS_TEST_LOG_OBJECT_FAULT: fault },
  });
  t.started.push(proc);
  return { name: worker.name, proc };
}

/** Runs `cat` of the output on the fault's worker; answers the output, the command's end and its log. */
async function catOutput(fault: string) {
  const { name, proc } = await seamWorker(fault);
  const output = randomLines(12_000_000);
  await writeFile(path.join(proc.basedir, 'out.txt'), output);
  const id = await startCommand(
    t.stack,
    name,
    'shell',
    { command: 'cat out.txt', workdir: '.' },
    // Long enough that a loaded machine's slow requests are not taken for a lost worker; the killed one is
    // found lost within it (and the watchdog's second).
    { timeouts: { heartbeat: 10 } },
  );
  const view = await waitForCommand(t.stack, id, undefined, 90_000);
  const stdout = await readLog(t.stack, id, 'stdout');
  const seqs = (await readUpdates(t.stack, id)).map(([, seq]) => seq);
  const puts = proc.output().match(/log-object put \d+/g)?.length ?? 0;
  const { db } = clients(t.stack);
  const items = await commandItems(db, t.stack.env.COMMANDS_TABLE!, id);
  const objects = items.filter((item) => typeof item.obj === 'string').length;
  return { output, view, stdout, seqs, puts, objects };
}

function assertContiguous(seqs: number[]): void {
  assert.deepEqual(
    seqs,
    seqs.map((_, i) => i),
    'every seq once, in order',
  );
}

describe('log objects when something fails', () => {
  it('keeps exactly the recorded output when the worker is killed in the middle of an upload', async () => {
    // Act
    const { output, view, stdout, seqs, puts } = await catOutput('kill-mid-put');
    // Assess: the first object is kept, the half-sent second is nowhere, and nothing is doubled
    assert.equal(view.failure?.kind, 'worker_lost');
    assert.equal(view.results, RESULTS.RETRY);
    assert.equal(puts, 2);
    assert.ok(stdout.length > 0 && stdout.length < output.length, `${stdout.length} bytes read`);
    assert.equal(stdout, output.slice(0, stdout.length), 'the log is a prefix of the output');
    assertContiguous(seqs);
  });

  it('records an uploaded object once when its record request failed, without uploading it again', async () => {
    // Act
    const { output, view, stdout, seqs, puts, objects } = await catOutput('record-fails');
    // Assess
    assert.equal(view.results, RESULTS.SUCCESS);
    assert.equal(stdout.length, output.length);
    assert.ok(stdout === output, 'byte-exact');
    assert.ok(objects >= 2, `${objects} log objects`);
    assert.equal(puts, objects, 'one PUT per object: the resend found the first one in S3');
    assertContiguous(seqs);
  });

  it('stores a run once when the answer to its record was lost and the worker sent it again', async () => {
    // Act
    const { output, view, stdout, seqs, puts, objects } = await catOutput('record-answer-lost');
    // Assess
    assert.equal(view.results, RESULTS.SUCCESS);
    assert.equal(stdout.length, output.length);
    assert.ok(stdout === output, 'byte-exact');
    assert.ok(objects >= 2, `${objects} log objects`);
    assert.equal(puts, objects, 'one PUT per object, and one run item each');
    assertContiguous(seqs);
  });
});
