// The functions' log lines: JSON with the Lambda request id, and never a body, a token or an error's stored evidence.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { handler as commandsHandler } from '../../functions/commands.ts';
import { handler as lastResultHandler } from '../../functions/lastResult.ts';
import { httpRouter } from '../../functions/lib/http.ts';
import type { HttpEvent } from '../../functions/lib/http.ts';
import { logger } from '../../shared/observability.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { lambdaContext, printed } from './printed.ts';
import { sqsEvent } from './sqsEvent.ts';

/** Stands for anything that must never reach a log: a token, stored args, a body. */
const SECRET = 'tok-5ecret-must-not-be-logged';

let stack: TestStack;

before(async () => {
  stack = await useStack();
});

after(async () => {
  logger.setLogLevel('INFO');
  await stack?.release();
});

/** An HTTP API event as the gateway hands it to a route function, from a client token. */
function httpEvent(routeKey: string, body?: string): HttpEvent {
  return {
    version: '2.0',
    routeKey,
    rawPath: routeKey.split(' ')[1] ?? '/',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRET}` },
    body,
    isBase64Encoded: false,
    requestContext: {
      requestId: 'api-request-1',
      authorizer: { lambda: { role: 'client', worker: '', caller: 'test-caller' } },
    },
  } as unknown as HttpEvent;
}

describe('log lines', () => {
  it('carry the Lambda request id, and a dropped message by its id and size, never its body', async () => {
    // Prepare
    const context = lambdaContext('lastResult');
    const body = `not an event ${SECRET}`;
    // Act
    const { result, lines } = await printed(() => lastResultHandler(sqsEvent({ 'm-1': body }), context));
    // Assess
    assert.deepEqual(result, { batchItemFailures: [] });
    const dropped = lines.find((line) => line.message === 'dropped a message that is not a completion event');
    assert.ok(dropped, `no line for the dropped message in ${JSON.stringify(lines)}`);
    assert.equal(dropped.level, 'WARN');
    assert.equal(dropped.function_request_id, context.awsRequestId);
    assert.equal(dropped.function_name, 'lastResult');
    assert.equal(dropped.messageId, 'm-1');
    assert.equal(dropped.bodyBytes, Buffer.byteLength(body));
    assert.ok(!JSON.stringify(lines).includes(SECRET));
  });

  it('give an unexpected error its name, message, stack and causes, and none of its other fields', async () => {
    // Prepare: an error carrying stored evidence, as a failed condition's old item does
    const cause = Object.assign(new Error('the condition failed'), { Item: { argsJson: SECRET } });
    const route = httpRouter({
      'GET /v1/boom': () =>
        Promise.reject(Object.assign(new Error('the store said no', { cause }), { details: { SECRET } })),
    });
    const context = lambdaContext('boom');
    // Act
    const { result, lines } = await printed(() => route(httpEvent('GET /v1/boom'), context));
    // Assess
    assert.equal(result.statusCode, 500);
    assert.equal(JSON.parse(String(result.body)).code, 'internal_error');
    const line = lines.find((entry) => entry.message === 'unhandled error; answered 500');
    assert.ok(line, `no error line in ${JSON.stringify(lines)}`);
    assert.equal(line.level, 'ERROR');
    assert.equal(line.route, 'GET /v1/boom');
    assert.equal(line.function_request_id, context.awsRequestId);
    const error = line.error as Record<string, unknown>;
    assert.deepEqual(Object.keys(error).sort(), ['cause', 'message', 'name', 'stack']);
    assert.equal(error.message, 'the store said no');
    assert.match(String(error.stack), /the store said no/);
    assert.deepEqual(Object.keys(error.cause as object).sort(), ['message', 'name', 'stack']);
    assert.ok(!JSON.stringify(lines).includes(SECRET));
  });

  it("log a caller's mistake only at DEBUG, by its code, without the body or the token", async () => {
    // Prepare: a start request the schema refuses, with a secret where a field should be
    const body = JSON.stringify({ worker: 'w', command: 42, args: { password: SECRET } });
    const event = httpEvent('POST /v1/commands', body);
    // Act
    const atInfo = await printed(() => commandsHandler(event, lambdaContext('commands')));
    logger.setLogLevel('DEBUG');
    const atDebug = await printed(() => commandsHandler(event, lambdaContext('commands')));
    logger.setLogLevel('INFO');
    // Assess
    assert.equal(atInfo.result.statusCode, 400);
    assert.deepEqual(atInfo.lines, []);
    const line = atDebug.lines.find((entry) => entry.message === 'answered an error');
    assert.ok(line, `no DEBUG line in ${JSON.stringify(atDebug.lines)}`);
    assert.equal(line.statusCode, 400);
    assert.equal(typeof line.code, 'string');
    assert.ok(!JSON.stringify(atDebug.lines).includes(SECRET));
  });
});
