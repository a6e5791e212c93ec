// The packaged CloudFormation holds the operations settings: timeouts, alarm actions, partitions, throttles, concurrency, names.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { packageTemplate } from './iamSources.ts';
import type { CfnTemplate, CfnValue } from './iamSources.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Alarms that do not notify the alarm topic yet, each with why: none (the watchdog's now does). */
const NOT_NOTIFYING_YET: Record<string, string> = {};

/** The client read routes throttled below the stage's default (infra/http-api.yml). */
const CLIENT_READS = [
  'GET /v1/commands',
  'GET /v1/commands/{id}',
  'GET /v1/commands/{id}/updates',
  'GET /v1/commands/{id}/logs/{name}',
];

let template: CfnTemplate & { Outputs?: Record<string, { Value: CfnValue }> };

function properties(id: string): Record<string, CfnValue> {
  const resource = template.Resources[id];
  assert.ok(resource, `no resource ${id} in the packaged template`);
  return resource.Properties ?? {};
}

before(async () => {
  template = await packageTemplate(REPO, 'dev');
});

describe('the packaged template: operations settings', () => {
  it("gives the dead-letter queue a visibility timeout of at least 6 times its consumer's timeout", () => {
    // Act
    const visibility = Number(properties('DeadLetterQueue').VisibilityTimeout);
    const consumer = Number(properties('DlqConsumerLambdaFunction').Timeout);
    // Assess
    assert.equal(visibility, 180);
    assert.ok(visibility >= 6 * consumer, `${visibility} s against a ${consumer} s consumer`);
  });

  it('sends every alarm to one SNS topic, which an output names for subscribing', () => {
    // Prepare
    const alarms = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    // Act
    const silent = alarms
      .filter(([, r]) => !JSON.stringify(r.Properties?.AlarmActions ?? []).includes('"Ref":"AlarmTopic"'))
      .map(([id]) => id);
    // Assess
    assert.ok(alarms.length >= 2, `${alarms.length} alarms`);
    assert.deepEqual(
      silent.filter((id) => !(id in NOT_NOTIFYING_YET)),
      [],
      'alarms that notify no one',
    );
    assert.equal(template.Resources.AlarmTopic?.Type, 'AWS::SNS::Topic');
    assert.deepEqual(template.Outputs?.AlarmTopicArn?.Value, { Ref: 'AlarmTopic' });
  });

  it('subscribes no email unless one is given at deploy time', () => {
    // Act
    const subscription = template.Resources.AlarmEmailSubscription as { Condition?: string } | undefined;
    // Assess
    assert.equal(subscription?.Condition, 'AlarmEmailGiven');
  });

  it('alarms on the messages the DLQ consumer received, since it empties the queue before it is sampled', () => {
    // Act
    const alarm = properties('DeadLetterQueueAlarm');
    // Assess
    assert.equal(alarm.MetricName, 'NumberOfMessagesReceived');
    assert.equal(alarm.Statistic, 'Sum');
    assert.equal(alarm.Threshold, 0);
  });

  it("gives the authorizer HTTP API's own 10 s, and reserves concurrency for it and the worker API", () => {
    // Act
    const authorizer = properties('AuthorizerLambdaFunction');
    const workerApi = properties('WorkerApiLambdaFunction');
    // Assess
    assert.equal(authorizer.Timeout, 10);
    assert.equal(authorizer.ReservedConcurrentExecutions, 50);
    assert.equal(workerApi.ReservedConcurrentExecutions, 100);
    assert.equal(properties('CommandsLambdaFunction').ReservedConcurrentExecutions, undefined);
  });

  it('writes every ARN with ${AWS::Partition}, never arn:aws:, so that aws-cn and aws-us-gov deploy', () => {
    // Act
    const literal = JSON.stringify(template).match(/arn:aws[a-z-]*:[^"]{0,60}/g) ?? [];
    // Assess
    assert.deepEqual(literal, []);
  });

  it('throttles the client read routes below the default, after the routes exist', () => {
    // Prepare
    const stage = template.Resources.HttpApiStage as {
      DependsOn?: string[];
      Properties: Record<string, CfnValue>;
    };
    const defaults = stage.Properties.DefaultRouteSettings as Record<string, number>;
    const routes = stage.Properties.RouteSettings as Record<string, Record<string, number>>;
    const routeIds = Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route')
      .map(([id, r]) => [String(r.Properties?.RouteKey), id] as const);
    // Act
    const needed = CLIENT_READS.map((key) => routeIds.find(([routeKey]) => routeKey === key)?.[1]);
    // Assess
    assert.deepEqual(Object.keys(routes).sort(), [...CLIENT_READS].sort());
    for (const key of CLIENT_READS) {
      assert.ok(routes[key]!.ThrottlingRateLimit! < defaults.ThrottlingRateLimit!, key);
      assert.ok(routes[key]!.ThrottlingBurstLimit! < defaults.ThrottlingBurstLimit!, key);
    }
    for (const id of needed)
      assert.ok(id && stage.DependsOn?.includes(id), `the stage does not wait for ${id}`);
  });
});

describe('osls package: name lengths', () => {
  it('refuses a stage whose function and queue names AWS would refuse, naming each', async () => {
    // Prepare
    const out = mkdtempSync(join(tmpdir(), 'bbs-names-package-'));
    const stage = 'a-stage-name-of-forty-five-characters-to-fail';
    try {
      // Act
      const run = promisify(execFile)(
        join(REPO, 'node_modules', '.bin', 'osls'),
        ['package', '--stage', stage, '--package', out],
        {
          cwd: REPO,
          env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
          timeout: 240_000,
        },
      );
      run.child.stdin?.end();
      const failed = await run.then(
        () => undefined,
        (error: unknown) => error as Error & { stdout: string; stderr: string },
      );
      // Assess
      assert.ok(failed, 'osls packaged the stage');
      const text = `${failed.stdout}${failed.stderr}`;
      assert.match(text, /makes names longer than AWS allows/);
      assert.match(text, /function dlqConsumer: \S+ \(\d+ > 64\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
