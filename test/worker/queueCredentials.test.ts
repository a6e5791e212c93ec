// Queue credentials vended by the heartbeat: scoped to the worker's own queue, refreshed by the agent, enough on their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import * as ENV from '../../shared/config.ts';
import type { WorkerHeartbeatResponse } from '../../shared/commands/wire.ts';
import type { WorkersContext } from '../../shared/workers/context.ts';
import {
  WORKER_CREDENTIALS_REFRESH_MS,
  WORKER_CREDENTIALS_SECONDS,
  queueSessionPolicy,
  sessionName,
  workerQueueArn,
} from '../../shared/workers/credentials.ts';
import { QueueAccess } from '../../worker/queueAccess.ts';
import { expectStatus } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { commandsFixture } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';

const t = commandsFixture(useStack);
const REPO = path.resolve(import.meta.dirname, '..', '..');

type QueueAccessAnswer = NonNullable<WorkerHeartbeatResponse['queueAccess']>;

async function vended(worker: TestWorker): Promise<QueueAccessAnswer> {
  const beat = await t.h.call<WorkerHeartbeatResponse>(
    worker.token,
    'POST',
    `/v1/workers/${worker.name}/heartbeat`,
    { commands: ['shell'], credentials: true },
  );
  const answer = expectStatus(beat, 200, 'heartbeat');
  assert.ok(answer.queueAccess, 'a heartbeat that asks gets queue credentials');
  return answer.queueAccess;
}

function clientOf(access: QueueAccessAnswer, change: { sessionToken?: string } = {}): SQSClient {
  return new SQSClient({
    region: access.region,
    ...(access.endpoint ? { endpoint: access.endpoint } : {}),
    useQueueUrlAsEndpoint: false,
    maxAttempts: 1,
    credentials: {
      accessKeyId: access.credentials.accessKeyId,
      secretAccessKey: access.credentials.secretAccessKey,
      sessionToken: change.sessionToken ?? access.credentials.sessionToken,
    },
  });
}

/** The error a call fails with, or undefined when it succeeds. */
async function failureOf(call: Promise<unknown>): Promise<{ name: string; status?: number } | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    const failure = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: failure.name, status: failure.$metadata?.httpStatusCode };
  }
}

describe('queue credentials from the heartbeat', () => {
  it('vends an hour of credentials for the worker’s own queue, only when asked, never cached', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const path = `/v1/workers/${worker.name}/heartbeat`;

    // Act
    const plain = await t.h.call<WorkerHeartbeatResponse>(worker.token, 'POST', path, {
      commands: ['shell'],
    });
    const asked = await t.h.call<WorkerHeartbeatResponse>(worker.token, 'POST', path, {
      commands: ['shell'],
      credentials: true,
    });

    // Assess
    assert.equal(expectStatus(plain, 200, 'heartbeat').queueAccess, undefined);
    const access = expectStatus(asked, 200, 'heartbeat').queueAccess;
    assert.ok(access);
    assert.equal(asked.headers.get('cache-control'), 'no-store');
    assert.equal(access.region, t.stack.env[ENV.awsRegion]);
    assert.equal(access.endpoint, t.stack.env[ENV.workerSqsEndpoint]);
    assert.match(access.credentials.accessKeyId, /^ASIA/);
    const lifetime = Date.parse(access.credentials.expiration) - Date.now();
    assert.ok(
      lifetime > WORKER_CREDENTIALS_SECONDS * 1000 - 60_000 && lifetime <= WORKER_CREDENTIALS_SECONDS * 1000,
    );
  });

  it('receive, change visibility and delete on the worker’s own queue', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const sqs = clientOf(await vended(worker));
    await t.h.sqs.send(new SendMessageCommand({ QueueUrl: worker.queueUrl, MessageBody: 'hello' }));

    // Act
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: worker.queueUrl, WaitTimeSeconds: 2 }),
    );
    const [message] = Messages;
    assert.ok(message?.ReceiptHandle);
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: worker.queueUrl,
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: 5,
      }),
    );
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: worker.queueUrl, ReceiptHandle: message.ReceiptHandle }),
    );
    // A batch is allowed by its single action, as on AWS (the agent deletes in batches: messageDeleter.ts).
    await t.h.sqs.send(new SendMessageCommand({ QueueUrl: worker.queueUrl, MessageBody: 'again' }));
    const { Messages: [again] = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: worker.queueUrl, WaitTimeSeconds: 2 }),
    );
    const batch = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: worker.queueUrl,
        Entries: [{ Id: '1', ReceiptHandle: again?.ReceiptHandle ?? '' }],
      }),
    );

    // Assess
    assert.equal(message.Body, 'hello');
    assert.deepEqual(batch.Failed ?? [], []);
    sqs.destroy();
  });

  it('are refused on another worker’s queue, for any other call, and with another session’s token', async () => {
    // Prepare
    const [worker, other] = await Promise.all([t.h.registeredWorker(), t.h.registeredWorker()]);
    const access = await vended(worker);
    const sqs = clientOf(access);
    const forged = clientOf(access, { sessionToken: (await vended(other)).credentials.sessionToken });

    // Act
    const failures = await Promise.all([
      failureOf(sqs.send(new ReceiveMessageCommand({ QueueUrl: other.queueUrl, WaitTimeSeconds: 0 }))),
      failureOf(sqs.send(new SendMessageCommand({ QueueUrl: worker.queueUrl, MessageBody: 'x' }))),
      failureOf(sqs.send(new GetQueueAttributesCommand({ QueueUrl: worker.queueUrl }))),
      failureOf(forged.send(new ReceiveMessageCommand({ QueueUrl: worker.queueUrl, WaitTimeSeconds: 0 }))),
    ]);

    // Assess
    const [otherQueue, send, attributes, wrongToken] = failures;
    for (const failure of [otherQueue, send, attributes])
      assert.deepEqual(failure, { name: 'AccessDenied', status: 403 });
    assert.deepEqual(wrongToken, { name: 'InvalidClientTokenId', status: 403 });
    sqs.destroy();
    forged.destroy();
  });

  it('are not vended to a removed worker, nor for a malformed ask', async () => {
    // Prepare
    const [removed, worker] = await Promise.all([t.h.registeredWorker(), t.h.registeredWorker()]);
    expectStatus(
      await t.h.call(t.stack.tokens.admin, 'DELETE', `/v1/workers/${removed.name}`),
      204,
      'remove',
    );

    // Act
    const gone = await t.h.call(removed.token, 'POST', `/v1/workers/${removed.name}/heartbeat`, {
      commands: [],
      credentials: true,
    });
    const malformed = await t.h.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, {
      commands: [],
      credentials: 'yes',
    });

    // Assess: the removed worker's token no longer resolves (401) or its record is gone (404).
    assert.ok([401, 404].includes(gone.status), `removed worker: ${gone.status}`);
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body as { path?: string }).path, 'credentials');
  });

  it('are all a `bbs worker` needs besides the API URL and its token', async () => {
    // Prepare: no AWS variable at all in the agent's environment.
    const worker = await t.h.registeredWorker();
    const basedir = mkdtempSync(path.join(tmpdir(), 'bbs-vended-'));
    const agent = spawn(
      process.execPath,
      ['bin/bbs.mjs', 'worker', '--api-url', t.stack.apiUrl, '--name', worker.name, '--basedir', basedir],
      {
        cwd: REPO,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, [ENV.workerToken]: worker.token },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    agent.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    try {
      await waitFor('the agent to poll its queue', () => log.includes('polling'), 30_000);

      // Act
      const commandId = await t.h.startCommand(worker, {
        args: { command: ['echo', 'vended'], workdir: '.' },
      });

      // Assess
      const ended = await waitFor(
        'the command to complete',
        async () => {
          const view = await t.h.call<{ status: string; results?: number }>(
            t.stack.tokens.client,
            'GET',
            `/v1/commands/${commandId}`,
          );
          return view.body.status === 'complete' ? view.body : undefined;
        },
        30_000,
      );
      assert.equal(ended.results, 0, `${JSON.stringify(ended)}\n${log}`);
      assert.doesNotMatch(log, /environment’s AWS credentials/);
    } finally {
      // SIGKILL: a graceful stop would wait out its long poll (20 s); the agent's group keeper goes with it.
      agent.kill('SIGKILL');
      await new Promise((done) => agent.once('exit', done));
      rmSync(basedir, { recursive: true, force: true });
    }
  });
});

describe('the vended session policy (pure)', () => {
  const ctx = {
    workerQueuePrefix: 'svc-prod-worker-',
    deadLetterQueueArn: 'arn:aws-cn:sqs:cn-north-1:123456789012:svc-prod-dlq',
  } as WorkersContext;

  it('names the worker’s queue in the DLQ’s partition, region and account, for the agent’s three calls', () => {
    assert.equal(workerQueueArn(ctx, 'w1'), 'arn:aws-cn:sqs:cn-north-1:123456789012:svc-prod-worker-w1');
    assert.deepEqual(JSON.parse(queueSessionPolicy(ctx, 'w1')), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
          Resource: 'arn:aws-cn:sqs:cn-north-1:123456789012:svc-prod-worker-w1',
        },
      ],
    });
  });

  it('refuses a dead-letter queue ARN that is not an SQS ARN, and keeps session names within 64', () => {
    assert.throws(
      () => workerQueueArn({ ...ctx, deadLetterQueueArn: 'nonsense' }, 'w1'),
      /not an SQS queue ARN/,
    );
    assert.equal(sessionName('w'.repeat(40)), `bbs-${'w'.repeat(40)}`);
    assert.ok(sessionName('w'.repeat(80)).length <= 64);
  });
});

describe('the agent’s QueueAccess (pure)', () => {
  const access = (expiresInMs: number, now: number): WorkerHeartbeatResponse => ({
    queueUrl: 'http://127.0.0.1:1/000000000000/q',
    heartbeatIntervalMs: 10_000,
    queueAccess: {
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:1',
      credentials: {
        accessKeyId: 'ASIAX',
        secretAccessKey: 's',
        sessionToken: 't',
        expiration: new Date(now + expiresInMs).toISOString(),
      },
    },
  });

  it('asks until it holds credentials, then again only once they end within the refresh window', () => {
    // Prepare
    let now = 1_000_000;
    const queue = new QueueAccess(
      undefined,
      () => undefined,
      () => now,
    );

    // Act / Assess
    assert.equal(queue.wanted, true);
    assert.throws(() => queue.client, /before the first heartbeat/);
    queue.accept(access(3_600_000, now), true);
    assert.equal(queue.wanted, false);
    now += 3_600_000 - WORKER_CREDENTIALS_REFRESH_MS - 1;
    assert.equal(queue.wanted, false);
    now += 2;
    assert.equal(queue.wanted, true);
    const client = queue.client;
    queue.accept(access(3_600_000, now), true);
    assert.equal(queue.wanted, false);
    assert.equal(queue.client, client, 'one client, whose provider reads the newest credentials');
    queue.close();
  });

  it('falls back to its environment’s credentials, once and saying so, where the API vends none', () => {
    // Prepare
    const lines: string[] = [];
    const queue = new QueueAccess(undefined, (line) => lines.push(line));

    // Act
    queue.accept({ queueUrl: 'q', heartbeatIntervalMs: 10_000 }, true);
    queue.accept({ queueUrl: 'q', heartbeatIntervalMs: 10_000 }, false);

    // Assess
    assert.ok(queue.client);
    assert.equal(queue.wanted, false);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /vends no queue credentials/);
  });

  it('asks again when the queue refused its credentials or its endpoint stopped answering, and follows a new endpoint', () => {
    // Prepare
    const now = 1_000_000;
    const queue = new QueueAccess(
      undefined,
      () => undefined,
      () => now,
    );
    queue.accept(access(3_600_000, now), true);
    const first = queue.client;

    // Act
    const plainFailure = queue.noteFailure(new Error('QueueDoesNotExist'));
    const refused = queue.noteFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    const wanted = queue.wanted;
    const moved = access(3_600_000, now);
    moved.queueAccess!.endpoint = 'http://127.0.0.1:2';
    queue.accept(moved, true);

    // Assess
    assert.equal(plainFailure, false);
    assert.equal(refused, true);
    assert.equal(wanted, true);
    assert.equal(queue.wanted, false);
    assert.notEqual(queue.client, first, 'a new client for the new endpoint');
    queue.close();
  });

  it('never asks when it was given a client', () => {
    const given = new SQSClient({ region: 'us-east-1' });
    const queue = new QueueAccess(given, () => undefined);
    assert.equal(queue.wanted, false);
    assert.equal(queue.client, given);
    given.destroy();
  });
});
