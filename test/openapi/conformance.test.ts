import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import type { ScalarTag } from 'yaml';
import { completeWithUrl, uploadStream } from '../../shared/artifacts/transfer.ts';
import type { BlobUpload } from '../../shared/artifacts/wire.ts';
import { harness } from '../commands/helpers.ts';
import { uniqueName } from '../support/api.ts';
import type { Answer } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

/**
 * Real answers against the document: every HTTP route of serverless.yml is called through the local
 * stack for its success and a typical error, and each JSON body is validated (ajv, JSON Schema 2020-12)
 * against the schema the document gives for that route and status. The document's objects are open
 * (a client should ignore new fields); here every object without `additionalProperties` is closed, so an
 * answer field that the document does not list fails the test.
 */
type Json = Record<string, unknown>;

let stack: TestStack;
let h: ReturnType<typeof harness>;
let doc: Json;
let ajv: Ajv2020;
const DOC_ID = 'https://buildbot-serverless.invalid/openapi.json';
/** `METHOD /path/{template}` → statuses whose real answer was validated. */
const seen = new Map<string, Set<number>>();

/** Closes every object schema that says nothing of other properties (see above). */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, closed(v)]));
  if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

const pointer = (...parts: string[]): string =>
  parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function operation(method: string, template: string): Json {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const found = paths[template]?.[method.toLowerCase()];
  assert.ok(found, `the document has no ${method} ${template}`);
  return found;
}

/** Validates one real answer against the document's schema for its route and status. */
function conforms(method: string, template: string, answer: Answer<unknown>): void {
  const route = `${method} ${template}`;
  const responses = operation(method, template).responses as Record<string, Json>;
  const documented = responses[String(answer.status)];
  assert.ok(
    documented,
    `${route} answered ${answer.status}, which the document does not list: ${answer.text}`,
  );
  const content = documented.content as Record<string, unknown> | undefined;
  if (content === undefined) assert.equal(answer.text, '', `${route} ${answer.status} should have no body`);
  else if (content['text/plain']) {
    assert.match(answer.headers.get('content-type') ?? '', /^text\/plain/);
    for (const [header, spec] of Object.entries(
      (documented.headers as Record<string, Json> | undefined) ?? {},
    ))
      if (spec.required === true)
        assert.ok(answer.headers.get(header) !== null, `${route}: header ${header} is missing`);
  } else {
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/, route);
    const ref = `${DOC_ID}#/${pointer('paths', template, method.toLowerCase(), 'responses', String(answer.status), 'content', 'application/json', 'schema')}`;
    const validate = ajv.getSchema(ref) as ValidateFunction | undefined;
    assert.ok(validate, `no schema at ${ref}`);
    assert.ok(
      validate(JSON.parse(answer.text)),
      `${route} ${answer.status}: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`,
    );
  }
}

/** conforms(), for a real answer: also counts the route and status as covered. */
function check(method: string, template: string, answer: Answer<unknown>): void {
  conforms(method, template, answer);
  const route = `${method} ${template}`;
  if (!seen.has(route)) seen.set(route, new Set());
  seen.get(route)!.add(answer.status);
}

/** The API's HTTP routes serverless.yml declares, as `METHOD /path` (the web console's `/` and `/assets/` are pages, not API). */
function serverlessRoutes(): string[] {
  const tags: ScalarTag[] = ['!Ref', '!GetAtt', '!Join', '!Sub'].flatMap((tag) => [
    { tag, resolve: (value: string) => value },
    { tag, collection: 'seq', resolve: (value: unknown) => value } as unknown as ScalarTag,
  ]);
  const file = parseYaml(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), {
    customTags: tags,
  }) as { functions: Record<string, { events?: { httpApi?: { method: string; path: string } }[] }> };
  return Object.values(file.functions).flatMap((fn) =>
    (fn.events ?? []).flatMap((event) =>
      event.httpApi?.path.startsWith('/v1/') ? [`${event.httpApi.method} ${event.httpApi.path}`] : [],
    ),
  );
}

before(async () => {
  stack = await useStack();
  h = harness(stack);
  const answer = await h.call(undefined, 'GET', '/v1/openapi.json');
  assert.equal(answer.status, 200, answer.text);
  doc = answer.body;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema({ ...(closed(doc) as Json), $id: DOC_ID });
});

after(async () => {
  await stack?.release();
});

describe('the OpenAPI document', () => {
  it('is served without a token and describes exactly the routes of serverless.yml', async () => {
    // Act
    const answer = await h.call(undefined, 'GET', '/v1/openapi.json');
    // Assess
    check('GET', '/v1/openapi.json', answer);
    assert.equal(doc.openapi, '3.1.0');
    const paths = doc.paths as Record<string, Json>;
    const documented = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual(documented.sort(), serverlessRoutes().sort());
  });

  it('has component schemas that are valid JSON Schema 2020-12 (ajv strict mode)', () => {
    // Prepare
    const strict = new Ajv2020({ strict: true, keywords: ['components'] });
    const schemas = (doc.components as { schemas: Json }).schemas;
    // Act, Assess
    strict.addSchema({ $id: DOC_ID, components: { schemas } });
    for (const name of Object.keys(schemas))
      assert.ok(strict.getSchema(`${DOC_ID}#/components/schemas/${name}`), name);
  });
});

describe('real answers conform to the document', () => {
  it('state routes: success and typical errors', async () => {
    const { client } = stack.tokens;
    const name = uniqueName('openapi');
    const created = await h.call<Json>(client, 'POST', '/v1/objects', { name, className: 'C' });
    check('POST', '/v1/objects', created);
    check('POST', '/v1/objects', await h.call(client, 'POST', '/v1/objects', { name }));
    const at = `/v1/objects/${String(created.body.objectId)}/state`;
    const put = '/v1/objects/{objectId}/state/{name}';
    check('PUT', put, await h.call(client, 'PUT', `${at}/s`, { value: { a: [1] } }));
    check('PUT', put, await h.call(client, 'PUT', `${at}/s`, {}));
    check('GET', put, await h.call(client, 'GET', `${at}/s`));
    check('GET', put, await h.call(client, 'GET', `${at}/missing`));
    check('GET', put, await h.call(client, 'GET', `${at}/missing?default=${encodeURIComponent('[1]')}`));
    check('GET', put, await h.call(client, 'GET', `${at}/missing?default=${encodeURIComponent('{')}`));
    const create = '/v1/objects/{objectId}/state/{name}/create';
    check('POST', create, await h.call(client, 'POST', `${at}/c/create`, { value: 1 }));
    check('POST', create, await h.call(client, 'POST', `${at}/c/create`, { value: 2 }));
    check('POST', create, await h.call(client, 'POST', `${at}/c/create`, { value: 2, extra: 1 }));
  });

  it('worker routes: register, read, heartbeat, remove, and their errors', async () => {
    const { admin, client } = stack.tokens;
    const worker = await h.registeredWorker('oa');
    const again = await h.call(admin, 'POST', '/v1/workers', { name: worker.name });
    check('POST', '/v1/workers', again);
    const fresh = await h.call(admin, 'POST', '/v1/workers', { name: `${worker.name}-2` });
    check('POST', '/v1/workers', fresh);
    const beat = `/v1/workers/${worker.name}/heartbeat`;
    check(
      'POST',
      '/v1/workers/{name}/heartbeat',
      await h.call(worker.token, 'POST', beat, { commands: ['shell'] }),
    );
    check(
      'POST',
      '/v1/workers/{name}/heartbeat',
      await h.call(worker.token, 'POST', beat, { commands: 'shell' }),
    );
    check('GET', '/v1/workers', await h.call(client, 'GET', '/v1/workers?limit=1'));
    check('GET', '/v1/workers', await h.call(client, 'GET', '/v1/workers?limit=0'));
    check('GET', '/v1/workers/{name}', await h.call(client, 'GET', `/v1/workers/${worker.name}`));
    check('GET', '/v1/workers/{name}', await h.call(client, 'GET', '/v1/workers/nobody-here'));
    check('DELETE', '/v1/workers/{name}', await h.call(admin, 'DELETE', `/v1/workers/${worker.name}-2`));
    check('DELETE', '/v1/workers/{name}', await h.call(admin, 'DELETE', '/v1/workers/bad name'));
  });

  it('command routes, client side: start, list, read, updates, logs, interrupt', async () => {
    const { client } = stack.tokens;
    const worker = await h.onlineWorker();
    const commandId = await h.claimed(worker);
    await h.call(worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [
        [{ header: 'h' }, 0],
        [{ stdout: 'out' }, 1],
        [{ rc: 0 }, 2],
      ],
    });
    const start = { worker: worker.name, command: 'shell', args: { command: ['true'] } };
    check('POST', '/v1/commands', await h.call(client, 'POST', '/v1/commands', start));
    check('POST', '/v1/commands', await h.call(client, 'POST', '/v1/commands', { ...start, args: [] }));
    check(
      'POST',
      '/v1/commands',
      await h.call(client, 'POST', '/v1/commands', { ...start, worker: 'nobody' }),
    );
    const list = `/v1/commands?worker=${worker.name}&limit=1`;
    check('GET', '/v1/commands', await h.call(client, 'GET', list));
    check('GET', '/v1/commands', await h.call(client, 'GET', '/v1/commands?limit=1'));
    const one = `/v1/commands/${commandId}`;
    const unknown = `/v1/commands/${'0'.repeat(32)}`;
    check('GET', '/v1/commands/{id}', await h.call(client, 'GET', one));
    check('GET', '/v1/commands/{id}', await h.call(client, 'GET', unknown));
    check('GET', '/v1/commands/{id}/updates', await h.call(client, 'GET', `${one}/updates?after=0`));
    check('GET', '/v1/commands/{id}/updates', await h.call(client, 'GET', `${one}/updates?after=-5`));
    const log = '/v1/commands/{id}/logs/{name}';
    check('GET', log, await h.call(client, 'GET', `${one}/logs/stdio`));
    check('GET', log, await h.call(client, 'GET', `${one}/logs/nolog`));
    const links = '/v1/commands/{id}/logs/{name}/links';
    check('GET', links, await h.call(client, 'GET', `${one}/logs/stdio/links`));
    check('GET', links, await h.call(client, 'GET', `${one}/logs/nolog/links`));
    check(
      'POST',
      '/v1/commands/{id}/interrupt',
      await h.call(client, 'POST', `${one}/interrupt`, { why: 'test' }),
    );
    check('POST', '/v1/commands/{id}/interrupt', await h.call(client, 'POST', `${unknown}/interrupt`, {}));
  });

  it('command routes, worker side: claim, updates, complete, and their conflicts', async () => {
    const worker = await h.onlineWorker();
    const commandId = await h.startCommand(worker);
    const at = `/v1/commands/${commandId}`;
    check('POST', '/v1/commands/{id}/start', await h.call(worker.token, 'POST', `${at}/start`));
    check('POST', '/v1/commands/{id}/start', await h.call(worker.token, 'POST', `${at}/start`));
    const updates = '/v1/commands/{id}/updates';
    check(
      'POST',
      updates,
      await h.call(worker.token, 'POST', `${at}/updates`, { updates: [[{ stdout: 'a' }, 0]] }),
    );
    check(
      'POST',
      updates,
      await h.call(worker.token, 'POST', `${at}/updates`, { updates: [[{ stdout: 'b' }, 5]] }),
    );
    check(
      'POST',
      updates,
      await h.call(worker.token, 'POST', `${at}/updates`, { updates: [[{ colour: 'red' }, 1]] }),
    );
    const complete = '/v1/commands/{id}/complete';
    check('POST', complete, await h.call(worker.token, 'POST', `${at}/complete`, { lastSeq: 3 }));
    check(
      'POST',
      complete,
      await h.call(worker.token, 'POST', `${at}/complete`, { lastSeq: 1, updates: [[{ rc: 0 }, 1]] }),
    );
    check('POST', '/v1/commands', await h.call(undefined, 'POST', '/v1/commands', {}));
    check('POST', complete, await h.call(stack.tokens.client, 'POST', `${at}/complete`, { lastSeq: 1 }));
  });

  it('artifact routes: a blob, an artifact uploaded, listed and redirected to, and their errors', async () => {
    const worker = await h.onlineWorker(['downloadFile', 'shell']);
    const client = stack.tokens.client;
    const blob = await h.call<{ blobId: string; upload: BlobUpload }>(client, 'POST', '/v1/blobs', {
      size: 3,
    });
    check('POST', '/v1/blobs', blob);
    check('POST', '/v1/blobs', await h.call(client, 'POST', '/v1/blobs', { size: -1 }));
    const { upload } = blob.body;
    const sent = await uploadStream([Buffer.from('abc')], {
      partBytes: upload.partBytes,
      urls: async () => upload.parts,
    });
    await completeWithUrl(upload.complete, sent.parts);
    for (const blobId of [blob.body.blobId, 'f'.repeat(32)]) {
      const blobCommand = await h.claimed(worker, {
        command: 'downloadFile',
        args: { blob: blobId, workerdest: 'x', workdir: '.' },
      });
      check(
        'GET',
        '/v1/commands/{id}/blob',
        await h.call(worker.token, 'GET', `/v1/commands/${blobCommand}/blob`),
      );
    }
    const commandId = await h.claimed(worker);
    const at = `/v1/commands/${commandId}/artifacts`;
    const started = await h.call<{ uploadId: string; partBytes: number }>(worker.token, 'POST', at, {
      name: 'a',
    });
    check('POST', '/v1/commands/{id}/artifacts', started);
    check('POST', '/v1/commands/{id}/artifacts', await h.call(worker.token, 'POST', at, { name: '..' }));
    const parts = '/v1/commands/{id}/artifacts/{name}/parts';
    const partsAnswers: Answer<unknown>[] = [];
    const uploaded = await uploadStream([Buffer.from('abc')], {
      partBytes: started.body.partBytes,
      urls: async (first, count) => {
        const answer = await h.call<{ parts: { partNumber: number; url: string }[] }>(
          worker.token,
          'POST',
          `${at}/a/parts`,
          { uploadId: started.body.uploadId, first, count },
        );
        partsAnswers.push(answer);
        return answer.body.parts;
      },
    });
    for (const answer of partsAnswers) check('POST', parts, answer);
    check('POST', parts, await h.call(worker.token, 'POST', `${at}/a/parts`, { first: 1 }));
    const finish = {
      uploadId: started.body.uploadId,
      parts: uploaded.parts,
      size: 3,
      sha256: uploaded.sha256,
    };
    check('PUT', '/v1/commands/{id}/artifacts/{name}', await h.call(worker.token, 'PUT', `${at}/a`, finish));
    check('PUT', '/v1/commands/{id}/artifacts/{name}', await h.call(worker.token, 'PUT', `${at}/a`, finish));
    check('GET', '/v1/commands/{id}/artifacts', await h.call(client, 'GET', at));
    check(
      'GET',
      '/v1/commands/{id}/artifacts',
      await h.call(client, 'GET', `/v1/commands/${'0'.repeat(32)}/artifacts`),
    );
    // A redirect, read as it came (fetch would follow it).
    const response = await fetch(`${stack.apiUrl}${at}/a`, {
      headers: { authorization: `Bearer ${client}` },
      redirect: 'manual',
    });
    const text = await response.text();
    check('GET', '/v1/commands/{id}/artifacts/{name}', {
      status: response.status,
      body: JSON.parse(text) as unknown,
      text,
      headers: response.headers,
    });
    check('GET', '/v1/commands/{id}/artifacts/{name}', await h.call(client, 'GET', `${at}/none`));
  });

  it('would catch an answer the document does not describe (the check itself)', () => {
    // Prepare: a real answer's shape with an undocumented field, a wrong type, and an undocumented status
    const answer = (status: number, body: unknown): Answer<unknown> => ({
      status,
      body,
      text: JSON.stringify(body),
      headers: new Headers({ 'content-type': 'application/json' }),
    });
    const route: [string, string] = ['GET', '/v1/commands/{id}'];
    const view = {
      commandId: '0'.repeat(32),
      worker: 'w',
      command: 'shell',
      args: {},
      status: 'queued',
      decodeRC: { '0': 0 },
      createdAt: '2030-01-01T00:00:00.000Z',
      acked: -1,
    };
    // Act, Assess
    conforms(...route, answer(200, view));
    assert.throws(() => conforms(...route, answer(200, { ...view, extra: 1 })), /additional properties/);
    assert.throws(() => conforms(...route, answer(200, { ...view, acked: 'none' })), /acked/);
    assert.throws(() => conforms(...route, answer(404, { code: 1, error: 'e', message: 'm' })), /404/);
    assert.throws(() => conforms(...route, answer(418, {})), /does not list/);
  });

  it('covered a success and an error answer of every route that has one', () => {
    for (const route of serverlessRoutes()) {
      const statuses = [...(seen.get(route) ?? [])];
      assert.ok(
        // A redirect is the artifact route's success.
        statuses.some((status) => status < 400),
        `${route}: no success answer validated`,
      );
      if (route !== 'GET /v1/openapi.json')
        assert.ok(
          statuses.some((status) => status >= 400),
          `${route}: no error answer validated`,
        );
    }
  });
});
