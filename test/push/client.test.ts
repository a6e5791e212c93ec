// The TS client follows push-first against the local stack and a real worker process: fewer reads, and a cut socket loses nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { RemoteCommand } from '../../shared/client/RemoteCommand.ts';
import type { FollowOptions, UpdatesPage } from '../../shared/client/types.ts';
import { RESULTS } from '../../shared/commands/types.ts';
import { startWorkerOnStack } from '../client/helpers.ts';
import type { StackWithWorker } from '../client/helpers.ts';
import { startCuttableProxy } from './helpers.ts';

/** A CommandsClient that counts its update reads: how often it fell back on (or caught up with) HTTP. */
class CountingClient extends CommandsClient {
  updateReads = 0;
  override getUpdates(commandId: string, after = -1, opts: FollowOptions = {}): Promise<UpdatesPage> {
    this.updateReads++;
    return super.getUpdates(commandId, after, opts);
  }
}

const SPACED = 'for i in 1 2 3 4 5 6; do echo line $i; sleep 0.25; done';
const SPACED_OUTPUT = [1, 2, 3, 4, 5, 6].map((i) => `line ${i}\n`).join('');

describe('the client, push-first', () => {
  let env: StackWithWorker;
  let proxy: Awaited<ReturnType<typeof startCuttableProxy>>;
  let pushUrl: string;

  before(async () => {
    env = await startWorkerOnStack('pushc');
    const target = new URL(env.stack.apiUrl);
    proxy = await startCuttableProxy({ host: target.hostname, port: Number(target.port) });
    pushUrl = `ws://127.0.0.1:${proxy.port}/v1/push`;
  });
  after(async () => {
    await proxy?.close();
    await env?.stop();
  });

  it('runs a command to completion on pushed frames, reading updates over HTTP once or twice, not every poll', async () => {
    // Prepare
    const api = new CountingClient({ apiUrl: env.stack.apiUrl, token: env.stack.tokens.client, pushUrl });
    const cmd = new RemoteCommand(
      'shell',
      { command: ['sh', '-c', SPACED], workdir: '.' },
      { collectStdout: true },
    );

    // Act
    await cmd.run(api, env.workerName);
    api.close();

    // Assess: polling would read about every 250 ms of the 1.5 s
    assert.equal(cmd.stdout, SPACED_OUTPUT);
    assert.equal(cmd.results(), RESULTS.SUCCESS);
    assert.equal(cmd.view?.status, 'complete');
    assert.ok(api.updateReads <= 2, `${api.updateReads} update reads`);
  });

  it('follows a log pushed line by line, byte for byte what getLog answers', async () => {
    // Prepare
    const api = new CommandsClient({ apiUrl: env.stack.apiUrl, token: env.stack.tokens.client, pushUrl });
    const { commandId } = await api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: ['sh', '-c', 'echo out; echo err >&2; echo more'], workdir: '.' },
    });

    // Act
    let text = '';
    for await (const chunk of api.followLog(commandId, 'stdio')) text += chunk;
    api.close();

    // Assess
    assert.equal(text, await api.getLog(commandId, 'stdio'));
    for (const line of ['out\n', 'err\n', 'more\n']) assert.ok(text.includes(line), line);
  });

  it('resumes by polling when the socket is cut mid-command, with no update lost or repeated', async () => {
    // Prepare
    const api = new CountingClient({ apiUrl: env.stack.apiUrl, token: env.stack.tokens.client, pushUrl });
    const { commandId } = await api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: ['sh', '-c', SPACED], workdir: '.' },
    });

    // Act: cut every connection through the proxy once two lines have arrived
    const seqs: number[] = [];
    let stdout = '';
    let cut = 0;
    for await (const [update, seq] of api.followUpdates(commandId)) {
      seqs.push(seq);
      stdout += update.stdout ?? '';
      if (stdout.split('\n').length === 3 && cut === 0) cut = proxy.cut();
    }
    api.close();

    // Assess
    assert.ok(cut > 0, 'a socket was cut');
    assert.deepEqual(
      seqs,
      seqs.map((_, i) => i),
      'every seq once, in order',
    );
    assert.equal(stdout, SPACED_OUTPUT);
    assert.ok(api.updateReads > 2, `polling took over (${api.updateReads} update reads)`);
  });

  it('polls from the start when the socket cannot open', async () => {
    // Prepare: nothing listens there
    const api = new CountingClient({
      apiUrl: env.stack.apiUrl,
      token: env.stack.tokens.client,
      pushUrl: 'ws://127.0.0.1:9/v1/push',
    });
    const cmd = new RemoteCommand(
      'shell',
      { command: ['sh', '-c', 'echo fine'], workdir: '.' },
      { collectStdout: true },
    );

    // Act
    await cmd.run(api, env.workerName);

    // Assess
    assert.equal(cmd.stdout, 'fine\n');
    assert.equal(cmd.results(), RESULTS.SUCCESS);
  });
});
