import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type {
  APIGatewayProxyEventV2WithLambdaAuthorizer,
  APIGatewayRequestAuthorizerEventV2,
} from 'aws-lambda';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';
import { callerIdOf } from '../../shared/auth/tokens.ts';
import { entriesOf } from '../fixtures/functions/journal.ts';

type EchoedEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<Record<string, string>>;

const FIXTURE = fileURLToPath(new URL('../fixtures/serverless.yml', import.meta.url));

describe('local gateway (HTTP API payload 2.0)', () => {
  let stack: LocalStack;
  const logged: string[] = [];

  before(async () => {
    // A stack of its own: it serves the fixture service, and its tallies count the handlers run in this process.
    stack = await startLocalStack({ serverlessFile: FIXTURE, log: (line) => logged.push(line) });
  });
  after(async () => {
    await stack?.stop();
  });

  const authorized = () => ({ authorization: `Bearer ${stack.tokens.client}` });

  it('serves a route that exists only in the fixture serverless.yml, with the authorizer context', async () => {
    // Act
    const res = await fetch(`${stack.apiUrl}/v1/echo/a%2Fb%20c?x=1&x=2&y=z`, {
      headers: { ...authorized(), cookie: 'k1=v1; k2=v2', 'X-Mixed-Case': 'yes' },
    });
    const event = (await res.json()) as EchoedEvent;

    // Assess
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-fixture'), 'echo');
    assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(event.version, '2.0');
    assert.equal(event.routeKey, 'GET /v1/echo/{id}');
    assert.equal(event.rawPath, '/v1/echo/a%2Fb%20c');
    assert.equal(event.rawQueryString, 'x=1&x=2&y=z');
    assert.deepEqual(event.pathParameters, { id: 'a/b c' });
    assert.deepEqual(event.queryStringParameters, { x: '1,2', y: 'z' });
    assert.deepEqual(event.cookies, ['k1=v1', 'k2=v2']);
    assert.equal(event.headers['x-mixed-case'], 'yes');
    assert.equal(event.headers.cookie, undefined);
    assert.equal(event.requestContext.stage, '$default');
    assert.equal(event.requestContext.routeKey, 'GET /v1/echo/{id}');
    assert.equal(event.requestContext.http.method, 'GET');
    assert.equal(event.requestContext.http.path, '/v1/echo/a%2Fb%20c');
    assert.equal(typeof event.requestContext.requestId, 'string');
    assert.equal(typeof event.requestContext.timeEpoch, 'number');
    assert.deepEqual(event.requestContext.authorizer.lambda, {
      role: 'client',
      worker: '',
      caller: callerIdOf(stack.tokens.client),
    });
    assert.equal(event.body, undefined);
  });

  it('prefers a static route over a {param} route on the same path', async () => {
    // Act
    const res = await fetch(`${stack.apiUrl}/v1/echo/static`);
    const event = (await res.json()) as EchoedEvent;

    // Assess
    assert.equal(res.status, 200);
    assert.equal(event.routeKey, 'GET /v1/echo/static');
    assert.equal(event.requestContext.authorizer, undefined);
  });

  it('passes a JSON body as text and a gzipped or binary body as base64', async () => {
    // Prepare
    const gzipped = gzipSync(Buffer.from('{"big":true}'));

    // Act
    const text = (await (
      await fetch(`${stack.apiUrl}/v1/echo/1`, {
        method: 'POST',
        headers: { ...authorized(), 'content-type': 'application/json' },
        body: '{"a":1}',
      })
    ).json()) as EchoedEvent;
    const zipped = (await (
      await fetch(`${stack.apiUrl}/v1/echo/1`, {
        method: 'POST',
        headers: { ...authorized(), 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: gzipped,
      })
    ).json()) as EchoedEvent;
    const binary = (await (
      await fetch(`${stack.apiUrl}/v1/files/a/b/c.bin`, {
        method: 'PUT',
        headers: { ...authorized(), 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 1, 2, 255]),
      })
    ).json()) as EchoedEvent;

    // Assess
    assert.equal(text.body, '{"a":1}');
    assert.equal(text.isBase64Encoded, false);
    assert.equal(zipped.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(zipped.body ?? '', 'base64'), gzipped);
    assert.equal(binary.routeKey, 'ANY /v1/files/{proxy+}');
    assert.deepEqual(binary.pathParameters, { proxy: 'a/b/c.bin' });
    assert.equal(binary.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(binary.body ?? '', 'base64'), Buffer.from([0, 1, 2, 255]));
  });

  it("answers 500 as HTTP API does when the function's response is over Lambda's 6 MB once serialized", async () => {
    // Prepare: echo answers with the event as JSON, so each 0x01 of the body is `\u0001` in its body and
    // `\\u0001` (7 bytes) once Lambda serializes the response: 800 KB fits, 1 MB does not.
    const post = (bytes: number) =>
      fetch(`${stack.apiUrl}/v1/echo/big`, {
        method: 'POST',
        headers: { ...authorized(), 'content-type': 'text/plain' },
        body: Buffer.alloc(bytes, 1),
      });
    logged.length = 0;

    // Act
    const fits = await post(800_000);
    const over = await post(1_000_000);

    // Assess
    assert.equal(fits.status, 200);
    assert.equal(((await fits.json()) as EchoedEvent).body?.length, 800_000);
    assert.equal(over.status, 500);
    assert.deepEqual(await over.json(), { message: 'Internal Server Error' });
    assert.ok(
      logged.some((line) => line.includes('Function.ResponseSizeTooLarge')),
      `no log line names the limit in ${JSON.stringify(logged)}`,
    );
  });

  it('answers 401 without calling the authorizer when the Authorization header is missing', async () => {
    // Prepare
    const before = stack.tallies().functions.authorizer?.invocations ?? 0;

    // Act
    const res = await fetch(`${stack.apiUrl}/v1/echo/1`);

    // Assess
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { message: 'Unauthorized' });
    assert.equal(stack.tallies().functions.authorizer?.invocations ?? 0, before);
  });

  it('answers 403 when the authorizer says isAuthorized false, and 500 when it throws', async () => {
    // Act
    const refused = await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'closed' } });
    const crashed = await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'boom' } });
    const opened = await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'open' } });

    // Assess
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), { message: 'Forbidden' });
    assert.equal(crashed.status, 500);
    assert.deepEqual(await crashed.json(), { message: 'Internal Server Error' });
    assert.equal(opened.status, 200);
    const event = (await opened.json()) as EchoedEvent;
    assert.deepEqual(event.requestContext.authorizer.lambda, { gate: 'open' });
    const call = entriesOf('gate').at(-1)?.event as APIGatewayRequestAuthorizerEventV2;
    assert.equal(call.type, 'REQUEST');
    assert.deepEqual(call.identitySource, ['open']);
  });

  it('caches an authorizer decision per identity value for resultTtlInSeconds', async () => {
    // Prepare
    const calls = () =>
      entriesOf('gate').filter(
        (entry) => (entry.event as { identitySource: string[] }).identitySource[0] === 'open',
      ).length;
    await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'open' } });
    const afterFirst = calls();

    // Act
    await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'open' } });
    const cachedCalls = calls();
    await new Promise((wake) => setTimeout(wake, 2100));
    await fetch(`${stack.apiUrl}/v1/gated`, { headers: { 'x-gate': 'open' } });

    // Assess
    assert.equal(cachedCalls, afterFirst);
    assert.equal(calls(), afterFirst + 1);
  });

  it('answers 500 and logs the error when a handler throws', async () => {
    // Act
    const res = await fetch(`${stack.apiUrl}/v1/crash`, { headers: authorized() });

    // Assess
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { message: 'Internal Server Error' });
    assert.ok(logged.some((line) => line.includes('fixture crash')));
  });

  it("answers 500 when a function runs past its timeout, as Lambda's timeout does", async () => {
    // Act
    const res = await fetch(`${stack.apiUrl}/v1/slow`);

    // Assess
    assert.equal(res.status, 500);
    assert.ok(logged.some((line) => line.includes('Task timed out after 1.00 seconds')));
  });

  it('answers 500 for a route whose module does not exist, and still serves the others', async () => {
    // Act
    const missing = await fetch(`${stack.apiUrl}/v1/missing`);
    const plain = await fetch(`${stack.apiUrl}/v1/plain`);

    // Assess
    assert.equal(missing.status, 500);
    assert.ok(logged.some((line) => line.includes('notWrittenYet')));
    assert.equal(plain.status, 200);
  });

  it('sends a return value without statusCode as a 200 JSON body', async () => {
    // Act
    const res = await fetch(`${stack.apiUrl}/v1/plain`);

    // Assess
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await res.json(), { hello: 'world' });
  });

  it('answers 404 for a path or a method no route has', async () => {
    // Act
    const unknownPath = await fetch(`${stack.apiUrl}/v1/nothing-here`);
    const unknownMethod = await fetch(`${stack.apiUrl}/v1/plain`, { method: 'DELETE' });

    // Assess
    assert.equal(unknownPath.status, 404);
    assert.deepEqual(await unknownPath.json(), { message: 'Not Found' });
    assert.equal(unknownMethod.status, 404);
  });

  it('answers 413 for a body over 10 MB without invoking the function', async () => {
    // Prepare
    const before = stack.tallies().functions.echo?.httpRequests ?? 0;

    // Act
    const res = await fetch(`${stack.apiUrl}/v1/echo/1`, {
      method: 'POST',
      headers: { ...authorized(), 'content-type': 'application/json' },
      body: Buffer.alloc(10 * 1024 * 1024 + 1, 32),
    });

    // Assess
    assert.equal(res.status, 413);
    assert.equal(stack.tallies().functions.echo?.httpRequests ?? 0, before);
  });

  it('counts HTTP requests and invocations per function', async () => {
    // Prepare
    const before = stack.tallies().functions.plain ?? { invocations: 0, httpRequests: 0, errors: 0 };

    // Act
    await Promise.all(
      [1, 2, 3].map(() => fetch(`${stack.apiUrl}/v1/plain`).then((res) => res.arrayBuffer())),
    );

    // Assess
    const now = stack.tallies().functions.plain;
    assert.equal(now?.httpRequests, before.httpRequests + 3);
    assert.equal(now?.invocations, before.invocations + 3);
  });

  it('resolves the environment, intrinsics included, into env, and leaves process.env alone', () => {
    // Assess
    const { env } = stack;
    assert.equal(env.STAGE, 'local');
    assert.equal(env.STATE_TABLE, 'bbs-fixture-local-state');
    assert.equal(
      env.FIXTURE_JOINED,
      'arn:aws:sqs:us-east-1:000000000000:bbs-fixture-local-partial:us-east-1',
    );
    assert.equal(
      env.FIXTURE_SUB,
      'arn:aws:sqs:us-east-1:000000000000:bbs-fixture-local-partial|000000000000|${Literal}',
    );
    assert.equal(env.FIXTURE_DEFAULTED, 'fallback');
    assert.equal(env.COMPLETIONS_QUEUE_URL, stack.queueUrls['bbs-fixture-local-completions']);
    assert.match(
      env.COMPLETIONS_QUEUE_URL ?? '',
      /^http:\/\/sqs\.us-east-1\.localhost:\d+\/000000000000\/bbs-fixture-local-completions$/,
    );
    assert.equal(env.BBS_API_URL, stack.apiUrl);
    assert.equal(env.NODE_OPTIONS, undefined);
    // Its functions read env through runWithEnv: another stack in this process has its own.
    const ownValues = Object.entries(env).filter(([, value]) => /bbs-fixture|127\.0\.0\.1/.test(value));
    assert.ok(ownValues.length >= 5, JSON.stringify(ownValues));
    for (const [name, value] of ownValues) assert.notEqual(process.env[name], value, name);
  });
});
