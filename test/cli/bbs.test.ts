import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startWorkerOnStack } from '../client/helpers.ts';
import type { StackWithWorker } from '../client/helpers.ts';
import { apiCaller, expectStatus, registerWorker } from '../support/api.ts';
import { waitFor } from '../support/wait.ts';
import { runBbs } from './helpers.ts';

describe('bbs against the local stack with a real worker', () => {
  let env: StackWithWorker;
  let bbsEnv: Record<string, string>;

  before(async () => {
    env = await startWorkerOnStack('cli');
    bbsEnv = {
      ...env.stack.env,
      BBS_API_URL: env.stack.apiUrl,
      BBS_TOKEN: env.stack.tokens.client,
      BBS_WORKER: env.workerName,
    };
  });

  after(async () => {
    await env?.stop();
  });

  it('bbs run -- echo hello prints hello, says on stderr which command it started where, and exits 0', async () => {
    // Act
    const result = await runBbs(['run', '--', 'echo', 'hello'], bbsEnv);
    const quiet = await runBbs(['run', '-q', '--', 'echo', 'hello'], bbsEnv);

    // Assess
    assert.equal(result.stdout, 'hello\n');
    assert.match(result.stderr, new RegExp(`^bbs: started [0-9a-f]{32} on ${env.workerName}\n$`));
    assert.equal(result.code, 0);
    assert.equal(quiet.stdout, 'hello\n');
    assert.equal(quiet.stderr, '');
  });

  it('forwards piped stdin as initial_stdin, and refuses stdin over the args limit before sending anything', async () => {
    // Act
    const piped = await runBbs(['run', '-q', '--', 'cat'], bbsEnv, { stdin: 'x\ny\n' });
    const skipped = await runBbs(['run', '-q', '-n', '--', 'cat'], bbsEnv, { stdin: 'not sent\n' });
    const tooLarge = await runBbs(['run', '--', 'cat'], bbsEnv, { stdin: Buffer.alloc(70 * 1024, 'a') });

    // Assess
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'x\ny\n');
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.equal(skipped.stdout, '');
    assert.equal(tooLarge.code, 64);
    assert.match(tooLarge.stderr, /piped stdin is too large: .* over the 64 KiB \(65,536 bytes\) limit/);
    assert.doesNotMatch(tooLarge.stderr, /started/);
  });

  it('says why a command is still queued after 2 s: its worker is busy', async () => {
    // Prepare: a worker whose heartbeat says it runs as many commands as it may, and which never polls
    const call = apiCaller(env.stack);
    const busy = await registerWorker(env.stack, 'busy');
    const beat = await call(busy.token, 'POST', `/v1/workers/${busy.name}/heartbeat`, {
      commands: ['shell'],
      concurrency: 1,
      running: 1,
    });
    expectStatus(beat, 200, 'heartbeat');
    let interrupted = false;

    // Act: wait for the notice, then Ctrl-C (the queued command ends CANCELLED at once)
    const result = await runBbs(['run', '--worker', busy.name, '--', 'true'], bbsEnv, {
      onStderr: (stderr, child) => {
        if (!interrupted && stderr.includes('still queued')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });

    // Assess
    assert.match(
      result.stderr,
      new RegExp(`still queued: worker ${busy.name} is busy \\(running 1 of 1\\)`),
      result.stderr,
    );
    assert.equal(result.code, 130, result.stderr);
  });

  it("exits with the command's rc: false gives 1, sh -c 'exit 3' gives 3, and stderr stays on stderr", async () => {
    // Act
    const falsy = await runBbs(['run', '--', 'false'], bbsEnv);
    const three = await runBbs(['run', '--', 'sh', '-c', 'echo to-err >&2; exit 3'], bbsEnv);

    // Assess
    assert.equal(falsy.code, 1);
    assert.equal(three.code, 3);
    assert.equal(three.stdout, '');
    assert.match(three.stderr, /^bbs: started [0-9a-f]{32} on \S+\nto-err\n$/);
  });

  it('follows a --logfile as its own log, which bbs logs ID NAME prints', async () => {
    // Act
    const run = await runBbs(
      ['run', '--logfile', 'report=out.txt', '--', 'sh', '-c', 'echo line1 > out.txt; echo line2 >> out.txt'],
      bbsEnv,
    );
    const commandId = /started ([0-9a-f]{32})/.exec(run.stderr)?.[1];
    const log = await runBbs(['logs', commandId ?? '', 'report'], bbsEnv);

    // Assess
    assert.equal(run.code, 0, run.stderr);
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout, 'line1\nline2\n');
  });

  it('runs one string through sh -c, in --workdir, with --env', async () => {
    // Act
    const result = await runBbs(
      ['run', '--workdir', 'sub', '--env', 'GREETING=hi there', '--', 'echo "$GREETING" && basename "$PWD"'],
      bbsEnv,
    );

    // Assess
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'hi there\nsub\n');
  });

  it('exits 2 with a one-line reason when the worker cannot start the command (start_error)', async () => {
    // Act
    const result = await runBbs(['run', '--', '/nonexistent/program', 'arg'], bbsEnv);

    // Assess
    // The worker's own error text arrives as stderr output first; bbs adds one line of its own last.
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\nbbs: command [0-9a-f]{32} failed \(start_error\): .*nonexistent.*\n$/);
  });

  it('exits 69 naming the worker when it is unknown, and nothing runs', async () => {
    // Act
    const result = await runBbs(['run', '--worker', 'no-such-worker', '--', 'true'], bbsEnv);

    // Assess
    assert.equal(result.code, 69);
    assert.match(result.stderr, /no-such-worker/);
  });

  it('interrupts the remote command on Ctrl-C and exits 130; the command ends CANCELLED', async () => {
    // Prepare
    let signalled = false;

    // Act
    const result = await runBbs(['run', '--', 'sh', '-c', 'echo started; sleep 30'], bbsEnv, {
      onStdout: (stdout, child) => {
        if (!signalled && stdout.includes('started')) {
          signalled = true;
          child.kill('SIGINT');
        }
      },
    });

    // Assess
    assert.equal(result.code, 130, result.stderr);
    const commandId = /interrupting ([0-9a-f]{32})/.exec(result.stderr)?.[1];
    assert.ok(commandId, result.stderr);
    const view = await env.api.getCommand(commandId);
    assert.equal(view.status, 'complete');
    assert.equal(view.results, 6);
  });

  it('shows status, logs and list for a finished command', async () => {
    // Prepare
    const { commandId } = await env.api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: 'echo one; echo two >&2', workdir: '.' },
    });
    await waitFor(
      'the command to finish',
      async () => (await env.api.getCommand(commandId)).status === 'complete',
    );

    // Act
    const status = await runBbs(['status', commandId], bbsEnv);
    const json = await runBbs(['status', '--json', commandId], bbsEnv);
    const logs = await runBbs(['logs', commandId], bbsEnv);
    const followed = await runBbs(['logs', '-f', commandId], bbsEnv);
    const list = await runBbs(['list', '--status', 'complete'], bbsEnv);
    const listed = (await runBbs(['list', '--json', '--status', 'complete'], bbsEnv)).stdout;

    // Assess
    assert.equal(status.code, 0);
    assert.match(status.stdout, /status +complete/);
    assert.match(status.stdout, /results +SUCCESS/);
    assert.equal(JSON.parse(json.stdout).rc, 0);
    assert.equal(logs.stdout, await env.api.getLog(commandId, 'stdio'));
    assert.ok(logs.stdout.includes('one\n') && logs.stdout.includes('two\n'));
    assert.equal(followed.stdout, logs.stdout);
    assert.equal(list.code, 0);
    assert.match(list.stdout, new RegExp(`${commandId} +complete +SUCCESS .* echo one; echo two >&2 `));
    assert.ok(JSON.parse(listed).commands.length > 0);
  });

  it('bbs interrupt ends a running command CANCELLED', async () => {
    // Prepare
    const { commandId } = await env.api.startCommand({
      worker: env.workerName,
      command: 'shell',
      args: { command: ['sleep', '30'], workdir: '.' },
    });
    await waitFor(
      'the command to run',
      async () => (await env.api.getCommand(commandId)).status === 'running',
    );

    // Act
    const result = await runBbs(['interrupt', commandId, 'from the test'], bbsEnv);

    // Assess
    assert.equal(result.code, 0, result.stderr);
    await waitFor(
      'the command to end',
      async () => (await env.api.getCommand(commandId)).status === 'complete',
    );
    const view = await env.api.getCommand(commandId);
    assert.equal(view.results, 6);
    assert.equal(view.interrupted?.why, 'from the test');
  });

  it('opens its push socket on BBS_PUSH_URL, and polls when that socket fails', async () => {
    // Prepare: a server that takes note of each WebSocket handshake and then hangs up
    const asked: string[] = [];
    const server = createServer();
    server.on('upgrade', (request: IncomingMessage, socket: Duplex) => {
      asked.push(request.url ?? '');
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    try {
      // Act
      const result = await runBbs(['run', '-q', '--', 'echo', 'pushed'], {
        ...bbsEnv,
        BBS_PUSH_URL: `ws://127.0.0.1:${port}/elsewhere/push`,
      });

      // Assess
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'pushed\n');
      assert.ok(asked.length > 0, 'bbs never tried BBS_PUSH_URL');
      assert.ok(
        asked.every((url) => url.startsWith('/elsewhere/push')),
        asked.join(', '),
      );
    } finally {
      server.close();
    }
  });

  it('bbs logs ends quietly with 141 when its reader goes away (| head), as SIGPIPE ends a shell tool', async () => {
    // Prepare: a log far larger than a pipe holds
    const ran = await runBbs(
      ['run', '-q', '--', 'sh', '-c', 'yes 0123456789abcdef | head -c 4000000'],
      bbsEnv,
      {
        onStdout: (_text, child) => child.stdout!.destroy(),
      },
    );
    const listed = await runBbs(['list', '--json'], bbsEnv);
    const id = (JSON.parse(listed.stdout) as { commands: { commandId: string }[] }).commands[0]!.commandId;

    // Act: the reader closes its end after the first chunk
    const result = await runBbs(['logs', id, 'stdout'], bbsEnv, {
      onStdout: (_text, child) => child.stdout!.destroy(),
    });

    // Assess
    assert.equal(ran.code, 141, ran.stderr);
    assert.equal(result.code, 141, result.stderr);
    assert.equal(result.stderr, '', 'no stack trace, no message');
  });

  it('bbs state set then get round-trips a JSON value', async () => {
    // Prepare
    const idResult = await runBbs(['state', 'id', `cli-${process.pid}`, 'CliTest'], bbsEnv);
    const objectId = idResult.stdout.trim();

    // Act
    const set = await runBbs(['state', 'set', objectId, 'lastRev', '{"rev":"abc123","n":[1,2]}'], bbsEnv);
    const get = await runBbs(['state', 'get', objectId, 'lastRev'], bbsEnv);
    const missing = await runBbs(['state', 'get', objectId, 'never-set'], bbsEnv);

    // Assess
    assert.equal(idResult.code, 0, idResult.stderr);
    assert.match(objectId, /^\d+$/);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { rev: 'abc123', n: [1, 2] });
    assert.equal(missing.code, 69);
    assert.match(missing.stderr, /404/);
  });
});
