// The local stack is private and restartable (issue 9, build item 6): loopback-only emulators, restarts, persisted queues.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { awsEndpoint, sqsClientOf } from '../../shared/aws/clients.ts';
import { runWorker } from '../../worker/worker.ts';
import { readLog, registerWorker, startCommand, waitForCommand } from '../support/api.ts';

/** IPv4 127.0.0.1, IPv6 ::1 and the IPv4-mapped ::ffff:127.0.0.1, as /proc/net/tcp{,6} spells them. */
const LOOPBACK = new Set([
  '0100007F',
  '00000000000000000000000001000000',
  '0000000000000000FFFF00000100007F',
]);
const LISTEN = '0A';

/** Every listening socket of this machine on `port`: its local address, as /proc/net/tcp{,6} spells it. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== LISTEN) continue;
      const [address = '', portHex = ''] = (fields[1] ?? '').split(':');
      if (parseInt(portHex, 16) === port) found.push(address);
    }
  }
  return found;
}

describe('the local stack is private', () => {
  let stack: LocalStack;
  before(async () => {
    stack = await startLocalStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('listens on loopback only: DynamoDB Local, fauxqs and the gateway', () => {
    // Act
    const ports = {
      dynamodb: stack.emulators.dynamodbPort,
      sqs: stack.emulators.sqsPort,
      gateway: Number(new URL(stack.apiUrl).port),
    };

    // Assess
    for (const [what, port] of Object.entries(ports)) {
      const addresses = listeners(port);
      assert.ok(addresses.length > 0, `${what} (port ${port}) listens`);
      for (const address of addresses)
        assert.ok(LOOPBACK.has(address), `${what} (port ${port}) listens on ${address}, not loopback`);
    }
  });
});

/** Waits until `check` holds, polling every 50 ms, for at most timeoutMs. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Runs `echo <text>` on `worker` and answers its result and its stdio log. */
async function echo(stack: LocalStack, worker: string, text: string) {
  const id = await startCommand(stack, worker, 'shell', { command: `echo ${text}`, workdir: '.' });
  const view = await waitForCommand(stack, id, undefined, 30_000);
  return { rc: view.rc, log: await readLog(stack, id) };
}

describe('the local stack survives its emulators restarting', () => {
  const dirs: string[] = [];
  const stacks: LocalStack[] = [];
  after(async () => {
    for (const stack of stacks) await stack.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A temporary directory, removed after the suite. */
  function tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  }

  /** A stack on a fresh persist directory, with its built-in worker; stopped after the suite. */
  async function persistedStack(prefix: string): Promise<LocalStack> {
    const dir = tempDir(prefix);
    const stack = await startLocalStack({
      persistDir: join(dir, 'db'),
      worker: { basedir: join(dir, 'worker') },
    });
    stacks.push(stack);
    return stack;
  }

  it('restarts a killed DynamoDB Local on its port and data, and a command then runs end to end', async () => {
    // Prepare
    const stack = await persistedStack('bbs-restart-');
    const worker = stack.worker?.name ?? '';
    const before = stack.emulators.javaPid;

    // Act
    process.kill(before, 'SIGKILL');
    await until('java restarted', () => stack.emulators.javaPid !== before);
    const ran = await echo(stack, worker, 'after-restart');

    // Assess
    assert.equal(ran.rc, 0);
    assert.match(ran.log, /after-restart/);
    assert.ok(listeners(stack.emulators.dynamodbPort).every((address) => LOOPBACK.has(address)));
  });

  it("a stack restarted on --persist data recreates registered workers' queues: no rotation needed", async () => {
    // Prepare
    const dir = tempDir('bbs-persist-');
    const persistDir = join(dir, 'db');
    const first = await startLocalStack({ persistDir });
    const registered = await registerWorker(first, 'persisted');
    await first.stop();

    // Act
    const second = await startLocalStack({ persistDir });
    stacks.push(second);
    const worker = await runWorker({
      apiUrl: second.apiUrl,
      name: registered.name,
      token: registered.token,
      basedir: join(dir, 'worker'),
      concurrency: 1,
      sqs: sqsClientOf(awsEndpoint(second.env)),
    });
    let ran;
    try {
      ran = await echo(second, registered.name, 'after-persist');
    } finally {
      await worker.stop({ interrupt: true });
    }

    // Assess
    assert.equal(ran.rc, 0);
    assert.match(ran.log, /after-persist/);
  });

  it('starts a killed emulator supervisor again on its ports, with its queues, and a command then runs end to end', async () => {
    // Prepare
    const stack = await persistedStack('bbs-resupervise-');
    const worker = stack.worker?.name ?? '';
    const before = { supervisor: stack.emulators.supervisorPid, sqsPort: stack.emulators.sqsPort };

    // Act: SIGKILL leaves java orphaned on the DynamoDB port; fauxqs and every queue go with the supervisor.
    process.kill(before.supervisor, 'SIGKILL');
    await until('supervisor restarted', () => stack.emulators.supervisorRestarts === 1);
    const ran = await echo(stack, worker, 'after-supervisor-restart');

    // Assess
    assert.equal(ran.rc, 0);
    assert.match(ran.log, /after-supervisor-restart/);
    assert.notEqual(stack.emulators.supervisorPid, before.supervisor);
    assert.equal(stack.emulators.sqsPort, before.sqsPort);
    for (const port of [stack.emulators.dynamodbPort, stack.emulators.sqsPort])
      assert.ok(listeners(port).every((address) => LOOPBACK.has(address)));
  });
});
