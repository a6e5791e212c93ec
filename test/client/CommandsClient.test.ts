import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { ApiError, ApiUnreachableError } from '../../shared/client/errors.ts';
import { startWorkerOnStack } from './helpers.ts';
import type { StackWithWorker } from './helpers.ts';

describe('CommandsClient on the local stack with a real worker', () => {
  let env: StackWithWorker;

  before(async () => {
    env = await startWorkerOnStack('cc');
  });

  after(async () => {
    await env?.stop();
  });

  /** Starts a `shell` command running `script` in the worker's base directory. */
  async function startScript(script: string): Promise<string> {
    const { commandId } = await env.api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: script, workdir: '.' },
    });
    return commandId;
  }

  it('followLog yields the whole stdio log live, byte for byte what getLog answers at the end', async () => {
    // Prepare: interleaved stdout and stderr over about a second, multi-byte characters included.
    const script =
      'i=0; while [ $i -lt 40 ]; do echo "out $i é✓"; echo "err $i" >&2; i=$((i+1)); sleep 0.02; done; printf tail';
    const commandId = await startScript(script);

    // Act
    const chunks: string[] = [];
    for await (const chunk of env.api.followLog(commandId, 'stdio')) chunks.push(chunk);
    const whole = await env.api.getLog(commandId, 'stdio');

    // Assess
    assert.ok(chunks.length > 1, `expected the log to arrive in several chunks, got ${chunks.length}`);
    assert.equal(chunks.join(''), whole);
    for (let i = 0; i < 40; i++) {
      assert.ok(whole.includes(`out ${i} é✓\n`));
      assert.ok(whole.includes(`err ${i}\n`));
    }
    assert.equal((await env.api.getCommand(commandId)).status, 'complete');
  });

  it('reads a log larger than one 1 MiB page whole, by getLog and by followLog', async () => {
    // Prepare: 1.5 MB of numbered lines.
    const script = 'seq 1 200000 | sed "s/$/ abc/"';
    const commandId = await startScript(script);

    // Act
    const followed: string[] = [];
    for await (const chunk of env.api.followLog(commandId, 'stdio')) followed.push(chunk);
    const whole = await env.api.getLog(commandId, 'stdio');

    // Assess
    const stdout = Array.from({ length: 200000 }, (_, i) => `${i + 1} abc\n`).join('');
    assert.ok(whole.includes(stdout), 'the log holds the whole stdout');
    assert.ok(Buffer.byteLength(whole) > 1024 * 1024);
    assert.equal(followed.join(''), whole);
  });

  it('reads stdout alone as bytes, byte for byte what the command printed, from a text batch and text runs', async () => {
    // Prepare: 1 MB of stdout with multi-byte characters, and stderr between, fast enough to batch.
    const script =
      'i=0; while [ $i -lt 4 ]; do seq 1 30000 | sed "s/$/ é✓/"; echo "err $i" >&2; i=$((i+1)); done';
    const commandId = await startScript(script);
    // Following a log ends once the command is complete.
    for await (const _chunk of env.api.followLog(commandId, 'stderr'));

    // Act
    const pages: Buffer[] = [];
    for (let after = -1; ;) {
      const page = await env.api.getLogPageBytes(commandId, 'stdout', after);
      pages.push(page.bytes);
      if (page.complete) break;
      after = page.nextSeq;
    }
    const stderr = await env.api.getLog(commandId, 'stderr');

    // Assess
    const lines = Array.from({ length: 30000 }, (_, i) => `${i + 1} é✓\n`).join('');
    assert.equal(Buffer.concat(pages).toString('utf8'), lines.repeat(4));
    assert.equal(stderr, 'err 0\nerr 1\nerr 2\nerr 3\n');
  });

  it('says the API is unreachable with ApiUnreachableError, naming the address', async () => {
    // Prepare: a port nothing listens on (9, discard, is closed on this machine)
    const api = new CommandsClient({ apiUrl: 'http://127.0.0.1:9', token: 't' });

    // Act / Assess
    await assert.rejects(
      api.getCommand('0'.repeat(32)),
      (error: unknown) => error instanceof ApiUnreachableError && /127\.0\.0\.1:9/.test(error.message),
    );
  });

  it('stops following when the signal aborts, with the signal reason', async () => {
    // Prepare
    const { commandId } = await env.api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: ['sleep', '20'], workdir: '.' },
    });
    const controller = new AbortController();
    const reason = new Error('enough');
    setTimeout(() => controller.abort(reason), 300);

    // Act
    const following = (async () => {
      for await (const _chunk of env.api.followLog(commandId, 'stdio', { signal: controller.signal }));
    })();

    // Assess
    await assert.rejects(following, (error) => error === reason);
    await env.api.interrupt(commandId, 'cleanup');
  });

  it('lists the worker’s commands and shows the worker with its registered commands', async () => {
    // Prepare
    const { commandId } = await env.api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: ['true'], workdir: '.' },
    });

    // Act
    const list = await env.api.listCommands({ worker: env.workerName, limit: 100 });
    const worker = await env.api.getWorker(env.workerName);

    // Assess
    assert.ok(list.commands.some((view) => view.commandId === commandId));
    assert.equal(worker.name, env.workerName);
    assert.ok(worker.commands.includes('shell'));
  });

  it('round-trips state through getObjectId, setState, getState and createState', async () => {
    // Prepare
    const objectId = await env.api.getObjectId(`client-${process.pid}`, 'ClientTest');

    // Act
    const stored = await env.api.setState(objectId, 'answer', { n: 42, list: [1, 'two', null] });
    const read = await env.api.getState(objectId, 'answer');
    const again = await env.api.getObjectId(`client-${process.pid}`, 'ClientTest');
    const created = await env.api.createState(objectId, 'answer', 'ignored');
    const missing = env.api.getState(objectId, 'never-set');

    // Assess
    assert.deepEqual(stored, { n: 42, list: [1, 'two', null] });
    assert.deepEqual(read, stored);
    assert.equal(again, objectId);
    assert.deepEqual(created, { value: stored, created: false });
    await assert.rejects(missing, (error) => error instanceof ApiError && error.status === 404);
  });
});
