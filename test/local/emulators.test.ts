// The local stack is private and restartable (issue 9, build item 6): loopback-only emulators, restarts, persisted queues.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack } from '../../local/index.ts';

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
