// Clients and contexts are built from the environment they are given, and made once per distinct setting.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { awsEndpoint, documentClientOf, releaseAwsClients, sqsClientOf } from '../../shared/aws/clients.ts';
import { commandsContextFromEnv } from '../../shared/commands/context.ts';
import * as ENV from '../../shared/config.ts';
import { currentEnv, runWithEnv } from '../../shared/env.ts';
import { StateConnector } from '../../shared/state/StateConnector.ts';

/** An environment of a stack that is not running: nothing here sends a request. */
function stackEnv(port: number, table = 'commands'): Record<string, string> {
  return {
    [ENV.awsRegion]: 'us-east-1',
    [ENV.awsAccessKeyId]: 'local',
    [ENV.awsSecretAccessKey]: 'local',
    [ENV.awsEndpointUrlDynamodb]: `http://127.0.0.1:${port}`,
    [ENV.awsEndpointUrlSqs]: `http://127.0.0.1:${port + 1}`,
    [ENV.commandsTable]: table,
    [ENV.completionsQueueUrl]: 'http://sqs.us-east-1.localhost/000000000000/completions',
    [ENV.workerQueuePrefix]: 'worker-',
    [ENV.deadLetterQueueArn]: 'arn:aws:sqs:us-east-1:000000000000:dlq',
    [ENV.stateTable]: 'state',
  };
}

describe('commandsContextFromEnv', () => {
  it('builds each context from the environment it is given, not from the first one it saw', async () => {
    // Prepare
    const one = stackEnv(41_000);
    const two = stackEnv(42_000);
    // Act
    const first = commandsContextFromEnv(one);
    const second = commandsContextFromEnv(two);
    // Assess
    assert.notEqual(first, second);
    assert.equal(await first.db.config.endpoint?.().then((url) => String(url.port)), '41000');
    assert.equal(await second.db.config.endpoint?.().then((url) => String(url.port)), '42000');
    releaseAwsClients(one);
    releaseAwsClients(two);
  });

  it('gives the same context and clients for the same settings, whichever object holds them', () => {
    // Prepare
    const env = stackEnv(43_000);
    // Act
    const first = commandsContextFromEnv(env);
    const again = commandsContextFromEnv({ ...env, UNRELATED: 'x' });
    // Assess: a Lambda makes its clients once, and its caches hang off one context
    assert.equal(again, first);
    assert.equal(again.db, first.db);
    assert.equal(again.sqs, first.sqs);
    assert.equal(documentClientOf(awsEndpoint(env)), first.db);
    releaseAwsClients(env);
  });

  it('gives another context for another table on the same endpoint, sharing its clients', () => {
    // Prepare
    const env = stackEnv(44_000);
    // Act
    const commands = commandsContextFromEnv(env);
    const other = commandsContextFromEnv(stackEnv(44_000, 'other-commands'));
    // Assess
    assert.notEqual(other, commands);
    assert.equal(other.tableName, 'other-commands');
    assert.equal(other.db, commands.db);
    releaseAwsClients(env);
  });

  it('reads the environment of the invocation it runs in (runWithEnv), else process.env', () => {
    // Prepare
    const env = stackEnv(45_000);
    // Act
    const inside = runWithEnv(env, () => commandsContextFromEnv());
    const outside = currentEnv();
    // Assess
    assert.equal(inside, commandsContextFromEnv(env));
    assert.equal(outside, process.env);
    releaseAwsClients(env);
  });
});

describe('releaseAwsClients', () => {
  it('forgets the endpoint: the next call makes new clients, with a count of their own', () => {
    // Prepare
    const env = stackEnv(46_000);
    const endpoint = awsEndpoint(env);
    const sqs = sqsClientOf(endpoint);
    // Act
    releaseAwsClients(env);
    const again = awsEndpoint(env);
    // Assess
    assert.notEqual(again, endpoint);
    assert.notEqual(sqsClientOf(again), sqs);
    assert.notEqual(again.counter, endpoint.counter);
    releaseAwsClients(env);
  });
});

describe('StateConnector.forEnv', () => {
  it('keeps one connector per table and endpoint (its id cache outlives the invocation); fromEnv makes a new one', () => {
    // Prepare
    const env = stackEnv(47_000);
    // Act
    const kept = StateConnector.forEnv(env);
    // Assess
    assert.equal(StateConnector.forEnv({ ...env }), kept);
    assert.notEqual(StateConnector.forEnv(stackEnv(48_000)), kept);
    assert.notEqual(StateConnector.fromEnv(env), kept);
    releaseAwsClients(env);
    releaseAwsClients(stackEnv(48_000));
  });
});
