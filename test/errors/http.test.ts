// Sends every documented error code through the real HTTP API of a local stack and holds its body to the allow-list.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { uploadStream } from '../../shared/artifacts/transfer.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import { TEXT_BATCH_CONTENT_TYPE, encodeTextBatch } from '../../shared/commands/textBatch.ts';
import type { ItemKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';
import { stateKey } from '../../shared/state/keys.ts';
import { commandItems, harness, receiveOne } from '../commands/helpers.ts';
import type { TestWorker } from '../commands/helpers.ts';
import { uniqueName } from '../support/api.ts';
import type { Answer, RawBody } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { docRows } from './docTable.ts';

/**
 * One case per code: how to make the API answer it, and which of its declared fields that answer sets.
 * A code that answers HTTP but cannot be made to over HTTP is listed in NOT_OVER_HTTP with the reason.
 */
interface ErrorCase {
  fields: string[];
  send: () => Promise<Answer>;
  /** Text of stored data that must not appear anywhere in the answer. */
  secret?: string;
}

const NOT_OVER_HTTP: Record<string, string> = {
  not_found: 'a parent class: every 404 the code raises has its own code',
  conflict: "setState's create/vanish race and updateState's lost rounds have no HTTP route to drive them",
  state_lease_lost: 'HTTP create takes no exactlyOnce lease',
  state_lease_wait_timeout: 'HTTP create takes no exactlyOnce lease',
  configuration_missing:
    'the shared local stack sets every variable; taking one away would break the other cases',
  write_condition_failed:
    'a write must lose to an item deleted under it; test/aws drives that race with the helper itself',
  service_unavailable:
    'DynamoDB Local must be down: test/chaos/unavailable.test.ts kills it under a stack of its own',
};

/** Codes that answer 500 show as internal_error on the wire. */
const INTERNAL = 'internal_error';

let stack: TestStack;
let h: ReturnType<typeof harness>;
let worker: TestWorker;
let objectId: number;

function statePath(name: string): string {
  return `/v1/objects/${objectId}/state/${encodeURIComponent(name)}`;
}

async function claimedCommand(): Promise<string> {
  return h.claimed(worker);
}

/** Overwrites one attribute of a stored commands-table item with `value`: data this code did not write. */
async function garble(key: ItemKey, attribute: string, value: string): Promise<void> {
  await h.db.send(
    new UpdateCommand({
      TableName: h.table,
      Key: key,
      UpdateExpression: `SET ${attribute} = :garbled`,
      ExpressionAttributeValues: { ':garbled': value },
    }),
  );
}

/** A started command taken off its queue (so no worker claims it) whose record has `attribute` garbled. */
async function garbledCommand(attribute: string, value: string): Promise<string> {
  const commandId = await h.startCommand(worker);
  await receiveOne(h.sqs, worker.queueUrl);
  await garble(commandKey(commandId), attribute, value);
  return commandId;
}

/** A claimed command's artifact `name`, started and its one part uploaded: the upload id and its parts. */
async function uploadedArtifact(commandId: string, name: string) {
  const at = `/v1/commands/${commandId}/artifacts`;
  const started = await h.call<{ uploadId: string; partBytes: number }>(worker.token, 'POST', at, { name });
  const sent = await uploadStream([Buffer.from('abc')], {
    partBytes: started.body.partBytes,
    urls: async (first, count) =>
      (
        await h.call<{ parts: { partNumber: number; url: string }[] }>(
          worker.token,
          'POST',
          `${at}/${name}/parts`,
          {
            uploadId: started.body.uploadId,
            first,
            count,
          },
        )
      ).body.parts,
  });
  return { at, finish: { uploadId: started.body.uploadId, parts: sent.parts, size: 3, sha256: sent.sha256 } };
}

const CASES: Record<string, ErrorCase> = {
  blob_not_found: {
    fields: ['blobId'],
    send: async () => {
      const commandId = await h.claimed(worker, {
        command: 'downloadFile',
        args: { blob: 'f'.repeat(32), workerdest: 'x', workdir: '.' },
      });
      return h.call(worker.token, 'GET', `/v1/commands/${commandId}/blob`);
    },
  },
  artifact_not_found: {
    fields: ['commandId', 'name'],
    send: async () =>
      h.call(stack.tokens.client, 'GET', `/v1/commands/${await claimedCommand()}/artifacts/none`),
  },
  artifact_conflict: {
    fields: ['commandId', 'name'],
    send: async () => {
      const { at, finish } = await uploadedArtifact(await claimedCommand(), 'twice');
      await h.call(worker.token, 'PUT', `${at}/twice`, finish);
      return h.call(worker.token, 'PUT', `${at}/twice`, finish);
    },
  },
  artifact_incomplete: {
    fields: ['commandId', 'name', 'size', 'stored'],
    send: async () => {
      const { at, finish } = await uploadedArtifact(await claimedCommand(), 'short');
      return h.call(worker.token, 'PUT', `${at}/short`, { ...finish, size: 4 });
    },
  },
  invalid_request: {
    fields: ['path', 'limit'],
    send: () =>
      h.call(stack.tokens.client, 'POST', '/v1/commands', {
        worker: worker.name,
        command: 'shell',
        args: {},
        idempotencyKey: 'k'.repeat(500),
      }),
  },
  unauthorized: {
    // A token that resolves to nothing (with no Authorization header at all, the gateway answers 401 itself).
    fields: [],
    send: () => h.call('bbs_client_not-a-token', 'GET', '/v1/commands'),
  },
  forbidden: {
    // Another worker claims this worker's command: the answer must not say whose command it is.
    fields: [],
    get secret() {
      return worker.name;
    },
    send: async () => {
      const commandId = await h.startCommand(worker);
      await receiveOne(h.sqs, worker.queueUrl);
      const intruder = await h.registeredWorker('intruder');
      return h.call(intruder.token, 'POST', `/v1/commands/${commandId}/start`);
    },
  },
  payload_too_large: {
    fields: ['limit', 'seq'],
    send: async () => {
      // Random text barely compresses: one update of it does not fit one stored item.
      const commandId = await claimedCommand();
      const stdout = randomBytes(450 * 1024).toString('base64');
      return h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
        updates: [[{ stdout }, 0]],
      });
    },
  },
  command_not_found: {
    fields: ['commandId'],
    send: () => h.call(stack.tokens.client, 'GET', `/v1/commands/${'0'.repeat(32)}`),
  },
  command_status_conflict: {
    fields: ['commandId', 'status', 'acked'],
    send: async () => {
      const commandId = await claimedCommand();
      await h.call(worker.token, 'POST', `/v1/commands/${commandId}/complete`, { lastSeq: -1 });
      return h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
        updates: [[{ stdout: 'x' }, 0]],
      });
    },
  },
  command_record_unusable: {
    fields: ['commandId'],
    send: async () => {
      // A record no check let in (acked as text), planted without a deadline so no watchdog reads it.
      const commandId = await claimedCommand();
      await h.db.send(
        new UpdateCommand({
          TableName: h.table,
          Key: commandKey(commandId),
          UpdateExpression: 'SET acked = :text REMOVE dueShard, deadline',
          ExpressionAttributeValues: { ':text': 'x' },
        }),
      );
      return h.call(stack.tokens.client, 'POST', `/v1/commands/${commandId}/interrupt`, {});
    },
  },
  update_gap: {
    fields: ['commandId', 'acked'],
    send: async () => {
      const commandId = await claimedCommand();
      return h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
        updates: [[{ stdout: 'x' }, 5]],
      });
    },
  },
  idempotency_key_reused: {
    fields: ['commandId'],
    secret: 'first-request-secret-arg',
    send: async () => {
      const key = uniqueName('key');
      const first = { worker: worker.name, command: 'shell', idempotencyKey: key };
      await h.call(stack.tokens.client, 'POST', '/v1/commands', {
        ...first,
        args: { command: ['echo', 'first-request-secret-arg'] },
      });
      await receiveOne(h.sqs, worker.queueUrl);
      return h.call(stack.tokens.client, 'POST', '/v1/commands', { ...first, args: { command: ['true'] } });
    },
  },
  log_not_found: {
    fields: ['commandId', 'log'],
    send: async () => {
      const commandId = await claimedCommand();
      return h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/no-such-log`);
    },
  },
  worker_not_found: {
    fields: ['worker'],
    send: () =>
      h.call(stack.tokens.client, 'POST', '/v1/commands', {
        worker: uniqueName('nobody'),
        command: 'shell',
        args: {},
      }),
  },
  page_needs_compression: {
    fields: ['commandId', 'seq', 'limit'],
    send: async () => {
      // One update of 5 MiB of control characters: over a Lambda answer even as base64, read without compression.
      const commandId = await claimedCommand();
      const batch = encodeTextBatch([[{ stdout: '\u0001'.repeat(5 * 1024 * 1024) }, 0]])!;
      await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, undefined, {
        body: brotliCompressSync(batch),
        headers: { 'content-type': TEXT_BATCH_CONTENT_TYPE, 'content-encoding': 'br' },
      });
      return h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdout?after=-1`, undefined, {
        headers: { 'accept-encoding': 'identity' },
      } as unknown as RawBody);
    },
  },
  worker_exists: {
    fields: ['worker'],
    send: () => h.call(stack.tokens.admin, 'POST', '/v1/workers', { name: worker.name }),
  },
  queue_deleted_recently: {
    fields: ['worker', 'retryAfterSeconds'],
    send: async () => {
      const name = uniqueName('reused');
      await h.call(stack.tokens.admin, 'POST', '/v1/workers', { name });
      await h.call(stack.tokens.admin, 'DELETE', `/v1/workers/${name}`);
      return h.call(stack.tokens.admin, 'POST', '/v1/workers', { name });
    },
  },
  state_not_found: {
    fields: ['objectId', 'name'],
    send: () => h.call(stack.tokens.client, 'GET', statePath(uniqueName('missing'))),
  },
  state_not_json: {
    fields: [],
    secret: 'stored-state-secret',
    send: async () => {
      const name = uniqueName('garbled');
      await h.db.send(
        new PutCommand({
          TableName: stack.env[ENV.stateTable],
          Item: { ...stateKey(objectId, name), name, value: '{"stored-state-secret": ' },
        }),
      );
      return h.call(stack.tokens.client, 'GET', statePath(name));
    },
  },
  state_name_too_long: {
    fields: ['field', 'bytes', 'limit'],
    send: () => h.call(stack.tokens.client, 'POST', '/v1/objects', { name: 'n', className: 'C'.repeat(300) }),
  },
  state_value_too_large: {
    fields: ['bytes', 'limit'],
    send: () =>
      h.call(stack.tokens.client, 'PUT', statePath(uniqueName('big')), { value: 'x'.repeat(400 * 1024) }),
  },
  internal_error: {
    fields: [],
    secret: 'stored-args-secret',
    send: async () => {
      // A record whose args are not JSON: the read's JSON.parse throws a SyntaxError that quotes the text.
      const commandId = await garbledCommand('argsJson', 'stored-args-secret, not JSON');
      return h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}`);
    },
  },
  stored_item_malformed: {
    fields: [],
    secret: 'stored-decode-secret',
    send: async () => {
      // A record whose decodeRC is not a map: the claim's write returns it, and its decoder refuses it.
      const commandId = await garbledCommand('decodeRC', 'stored-decode-secret');
      return h.call(worker.token, 'POST', `/v1/commands/${commandId}/start`);
    },
  },
  stored_parts_malformed: {
    fields: [],
    secret: 'bogus-part-secret',
    send: async () => {
      // A stored text run whose parts this code did not write.
      const commandId = await claimedCommand();
      const text = 'line\n'.repeat(20_000);
      await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
        updates: [
          [{ stdout: text }, 0],
          [{ stderr: text }, 1],
        ],
      });
      const run = (await commandItems(h.db, h.table, commandId)).find((item) => item.parts !== undefined);
      assert.ok(run, 'the updates were stored as a text run');
      await garble({ pk: run.pk, sk: run.sk }, 'parts', 'bogus-part-secret');
      return h.call(stack.tokens.client, 'GET', `/v1/commands/${commandId}/logs/stdio`);
    },
  },
};

before(async () => {
  stack = await useStack();
  h = harness(stack);
  worker = await h.onlineWorker(['shell', 'mkdir', 'downloadFile']);
  objectId = await StateConnector.fromEnv().getObjectId('error-bodies', 'ErrorBodyTest');
});

after(async () => {
  await stack?.release();
});

describe('error answers over HTTP', () => {
  it('has a case for every documented code that answers HTTP, or says why it cannot be sent', () => {
    // Prepare
    const answering = [...docRows().values()]
      .filter((row) => row.status !== undefined)
      .map((row) => row.code);
    // Assess
    const covered = new Set([...Object.keys(CASES), ...Object.keys(NOT_OVER_HTTP)]);
    assert.deepEqual(
      answering.filter((code) => !covered.has(code)),
      [],
    );
    for (const code of covered) assert.ok(answering.includes(code), `${code} is not a documented HTTP code`);
  });

  for (const [code, errorCase] of Object.entries(CASES)) {
    it(`answers ${code} with its status, its code and exactly its declared fields`, async () => {
      // Prepare
      const row = docRows().get(code);
      assert.ok(row?.status !== undefined, `docs/errors.md has no HTTP row for ${code}`);
      // Act
      const answer = await errorCase.send();
      // Assess
      const wire = row.status === 500 ? INTERNAL : code;
      const allowed = row.status === 500 ? [] : row.fields;
      assert.equal(answer.status, row.status, answer.text);
      assert.equal(answer.body.code, wire, answer.text);
      assert.equal(answer.body.error, wire);
      assert.equal(typeof answer.body.message, 'string');
      for (const field of errorCase.fields)
        assert.ok(allowed.includes(field), `${code} may not send ${field}`);
      assert.deepEqual(
        Object.keys(answer.body).sort(),
        ['code', 'error', 'message', ...errorCase.fields].sort(),
      );
      if (errorCase.secret !== undefined) assert.ok(!answer.text.includes(errorCase.secret), answer.text);
      assert.doesNotMatch(answer.text, /"(pk|sk)"|CMD#|TOKEN#/);
    });
  }
});
