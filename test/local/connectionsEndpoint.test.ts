// The local gateway's @connections endpoint (PostToConnection) answers as API Gateway's: 410 for a gone connection, 413 past 128 KB.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as LIMITS from '../../shared/limits.ts';
import * as ENV from '../../shared/config.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

let stack: TestStack;
before(async () => {
  stack = await useStack();
});
after(() => stack?.release());

async function post(connectionId: string, body: Buffer): Promise<Response> {
  const endpoint = stack.env[ENV.pushEndpoint]!;
  return fetch(`${endpoint}/@connections/${encodeURIComponent(connectionId)}`, { method: 'POST', body });
}

describe('the local @connections endpoint', () => {
  it('answers 410 GoneException for a connection that is not open', async () => {
    // Act
    const answer = await post('bm9uZXN1Y2g=', Buffer.from('{"type":"pong"}'));

    // Assess
    assert.equal(answer.status, 410);
    assert.equal(answer.headers.get('x-amzn-errortype'), 'GoneException');
  });

  it('answers 413 PayloadTooLargeException past 128 KB, whether declared or sent', async () => {
    // Act
    const over = await post('bm9uZXN1Y2g=', Buffer.alloc(LIMITS.pushFrameBytes + 1, 'a'));
    const atLimit = await post('bm9uZXN1Y2g=', Buffer.alloc(LIMITS.pushFrameBytes, 'a'));

    // Assess
    assert.equal(over.status, 413);
    assert.equal(over.headers.get('x-amzn-errortype'), 'PayloadTooLargeException');
    assert.equal(atLimit.status, 410, 'a message of exactly 128 KB is taken (then the connection is gone)');
  });
});
