// Follower reads: each stored run read once, the record read eventually consistent; list pages sized; tokens off byWorker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { handler as commandsHandler } from '../../functions/commands.ts';
import type { HttpEvent } from '../../functions/lib/http.ts';
import { responsePayloadBytes } from '../../local/gateway/server.ts';
import { TokenStore, generateToken, hashToken } from '../../shared/auth/tokens.ts';
import { ROLES } from '../../shared/auth/types.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import { BY_WORKER_INDEX } from '../../shared/commands/keys.ts';
import { getLog } from '../../shared/commands/logPages.ts';
import { getUpdates } from '../../shared/commands/pagedReads.ts';
import { getCommand } from '../../shared/commands/recordReads.ts';
import * as LIMITS from '../../shared/limits.ts';
import { lambdaContext } from '../functions/printed.ts';
import { uniqueName } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import { commandsFixture } from './helpers.ts';

const t = commandsFixture(useStack);

interface SentRead {
  command: string;
  consistent: boolean | undefined;
  /** Sort keys of the items the read returned. */
  read: string[];
}

/** The commands context over a DocumentClient of its own that notes every read it sends and what came back. */
function watchedContext() {
  const reads: SentRead[] = [];
  const env = t.stack.env;
  const base = new DynamoDBClient({
    endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
    region: env.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  base.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { ConsistentRead?: boolean };
      // Items as the DocumentClient sees them (unmarshalled) or as DynamoDB sends them, by where this runs.
      type Sk = { sk?: string | { S?: string } };
      const output = result.output as { Items?: Sk[]; Item?: Sk };
      const items = output.Items ?? (output.Item ? [output.Item] : []);
      reads.push({
        command: String(context.commandName),
        consistent: input.ConsistentRead,
        read: items.map((item) => (typeof item.sk === 'string' ? item.sk : (item.sk?.S ?? '?'))),
      });
      return result;
    },
    { step: 'initialize', name: 'watchReads' },
  );
  const ctx = { ...commandsContextFromEnv(), db: DynamoDBDocumentClient.from(base) };
  return { ctx, reads, close: () => base.destroy() };
}

/** Updates in three requests: three stored runs of about 64 KiB text each (text runs). */
async function commandWithRuns(): Promise<{ commandId: string; lastSeq: number }> {
  const worker = await t.h.onlineWorker();
  const commandId = await t.h.claimed(worker);
  const chunk = 'line of output\n'.repeat(5000);
  for (let request = 0; request < 3; request++) {
    const updates = [0, 1].map((i) => [{ stdout: chunk }, request * 2 + i]);
    const answer = await t.h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, { updates });
    assert.equal(answer.status, 200, answer.text);
  }
  return { commandId, lastSeq: 5 };
}

describe('follower reads', () => {
  it('reads each stored run once, the tail run included, for a page from the start and a poll at the tail', async () => {
    // Prepare
    const { commandId, lastSeq } = await commandWithRuns();
    const { ctx, reads, close } = watchedContext();
    try {
      // Act
      const whole = await getLog(ctx, commandId, 'stdout', -1, { compressed: true });
      const fromStart = reads.splice(0);
      const tail = await getLog(ctx, commandId, 'stdout', lastSeq - 1, { compressed: true });
      const atTail = reads.splice(0);
      // Assess
      assert.equal(whole.nextSeq, lastSeq);
      assert.equal(tail.nextSeq, lastSeq);
      for (const [what, sent] of [
        ['from the start', fromStart],
        ['at the tail', atTail],
      ] as const) {
        const runs = sent.flatMap((read) => read.read).filter((sk) => sk.startsWith('UPD#'));
        assert.deepEqual(runs, [...new Set(runs)], `${what}: a run was read twice: ${JSON.stringify(sent)}`);
      }
      assert.equal(atTail.flatMap((read) => read.read).filter((sk) => sk.startsWith('UPD#')).length, 1);
    } finally {
      close();
    }
  });

  it('reads the record eventually consistent for pages of updates and logs, strongly for GET /v1/commands/{id}', async () => {
    // Prepare
    const { commandId } = await commandWithRuns();
    const { ctx, reads, close } = watchedContext();
    try {
      // Act
      await getUpdates(ctx, commandId, -1, { compressed: true });
      await getLog(ctx, commandId, 'stdio', -1, { compressed: false });
      const pages = reads.splice(0).filter((read) => read.command.startsWith('Get'));
      await getCommand(ctx, commandId);
      const single = reads.splice(0).filter((read) => read.command.startsWith('Get'));
      // Assess
      assert.deepEqual(
        pages.map((read) => read.consistent),
        [false, false],
      );
      assert.deepEqual(
        single.map((read) => read.consistent),
        [true],
      );
    } finally {
      close();
    }
  });
});

describe('list pages', () => {
  it('ends a page of commands whose args escape badly before the Lambda limit, and lists each command once', async () => {
    // Prepare: 40 commands with 64 KiB of args made of quotes: 128 KiB each once the response escapes their JSON
    const worker = await t.h.onlineWorker();
    const args = { command: ['true'], pad: '"'.repeat(32 * 1024 - 40) };
    const started: string[] = [];
    for (let i = 0; i < 40; i++) started.push(await t.h.startCommand(worker, { args }));
    const listed: string[] = [];
    const payloads: number[] = [];
    let cursor: string | undefined;
    // Act
    for (let page = 0; page < 10; page++) {
      const query: Record<string, string> = { worker: worker.name, limit: '100' };
      if (cursor) query.cursor = cursor;
      const event = {
        version: '2.0',
        routeKey: 'GET /v1/commands',
        rawPath: '/v1/commands',
        rawQueryString: new URLSearchParams(query).toString(),
        headers: {},
        queryStringParameters: query,
        isBase64Encoded: false,
        requestContext: {
          requestId: 'list-pages',
          authorizer: { lambda: { role: 'client', worker: '', caller: 'test-caller' } },
        },
      } as unknown as HttpEvent;
      const result = (await commandsHandler(event, lambdaContext('commands'))) as {
        statusCode: number;
        body: string;
      };
      assert.equal(result.statusCode, 200, result.body.slice(0, 300));
      payloads.push(responsePayloadBytes(result));
      const body = JSON.parse(result.body) as { commands: { commandId: string }[]; next?: string };
      listed.push(...body.commands.map((command) => command.commandId));
      cursor = body.next;
      if (!cursor) break;
    }
    // Assess
    assert.ok(payloads.length >= 2, `one page of ${payloads[0]} bytes`);
    assert.ok(Math.max(...payloads) <= LIMITS.pagePlainBytes + 1024, `pages of ${payloads.join(', ')} bytes`);
    assert.deepEqual([...listed].sort(), [...started].sort());
  });
});

describe('worker tokens', () => {
  it('are kept out of the byWorker index, and a token stored before (with `worker`) still resolves', async () => {
    // Prepare
    const worker = await t.h.registeredWorker();
    const store = new TokenStore({ client: t.h.db, tableName: t.h.table });
    const oldToken = generateToken(ROLES.worker);
    const oldName = uniqueName('old');
    await t.h.db.send(
      new PutCommand({
        TableName: t.h.table,
        Item: {
          pk: `TOKEN#${hashToken(oldToken)}`,
          sk: 'TOKEN',
          role: 'worker',
          worker: oldName,
          createdAt: Date.now(),
        },
      }),
    );
    // Act
    const { Items = [] } = await t.h.db.send(
      new QueryCommand({
        TableName: t.h.table,
        IndexName: BY_WORKER_INDEX,
        KeyConditionExpression: 'worker = :worker',
        ExpressionAttributeValues: { ':worker': worker.name },
      }),
    );
    const fresh = await store.resolve(worker.token);
    const old = await store.resolve(oldToken);
    // Assess
    assert.deepEqual(Items, []);
    assert.deepEqual(fresh, { role: 'worker', worker: worker.name });
    assert.deepEqual(old, { role: 'worker', worker: oldName });
  });
});
