import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildApp } from 'fauxqs';
import { resolveIntrinsics } from '../../local/serverless/intrinsics.ts';
import type { IntrinsicContext } from '../../local/serverless/intrinsics.ts';
import { describeService } from '../../local/serverless/service.ts';
import { loadServerlessDocument } from '../../local/serverless/variables.ts';
import { parseCloudFormationYaml } from '../../local/serverless/yaml.ts';
import type { Resolved } from '../../local/serverless/yaml.ts';
import { ServerlessConfigError } from '../../local/errors.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SERVERLESS_FILE = join(REPO, 'serverless.yml');

describe('serverless.yml resolution', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'bbs-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function load(
    yaml: string,
    files: Record<string, string> = {},
    opts: { stage?: string; region?: string } = {},
  ) {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'serverless.yml'), yaml);
    return loadServerlessDocument({
      serverlessFile: join(dir, 'serverless.yml'),
      stage: opts.stage ?? 'test',
      ...opts,
    });
  }

  it('turns CloudFormation tags, scalar and sequence forms, into their JSON form', () => {
    // Act
    const value = parseCloudFormationYaml(
      [
        'a: !Ref Queue',
        'b: !GetAtt Queue.Arn',
        'c: !GetAtt [Queue, Arn]',
        "d: !Join ['/', [!GetAtt Table.Arn, index, '*']]",
        "e: !Sub '${Queue.Arn}-x'",
        'f: !Sub',
        "  - '${X}'",
        '  - { X: !Ref Queue }',
      ].join('\n'),
      'inline',
    );

    // Assess
    assert.deepEqual(value, {
      a: { Ref: 'Queue' },
      b: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      c: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      d: { 'Fn::Join': ['/', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, 'index', '*']] },
      e: { 'Fn::Sub': '${Queue.Arn}-x' },
      f: { 'Fn::Sub': ['${X}', { X: { Ref: 'Queue' } }] },
    });
  });

  it('resolves self, sls, opt, aws and env variables, nested paths and defaults after a comma', () => {
    // Act
    const { root, region } = load(
      [
        'service: svc',
        'provider:',
        "  stage: ${opt:stage, 'dev'}",
        "  region: ${opt:region, 'eu-west-1'}",
        'custom:',
        '  deep: { names: { table: "${self:service}-${sls:stage}-t" } }',
        '  table: ${self:custom.deep.names.table}',
        '  whole: ${self:custom.deep}',
        '  account: ${aws:accountId}/${aws:region}',
        "  missingEnv: ${env:BBS_SURELY_UNSET_VARIABLE, 'dflt'}",
        '  chained: ${env:BBS_SURELY_UNSET_VARIABLE, ${self:service}}',
        '  number: ${env:BBS_SURELY_UNSET_VARIABLE, 42}',
        '  cfn: !Sub "${AWS::Region}-${Name}"',
      ].join('\n'),
    );

    // Assess
    assert.equal(region, 'eu-west-1');
    assert.deepEqual(root.custom, {
      deep: { names: { table: 'svc-test-t' } },
      table: 'svc-test-t',
      whole: { names: { table: 'svc-test-t' } },
      account: '000000000000/eu-west-1',
      missingEnv: 'dflt',
      chained: 'svc',
      number: 42,
      cfn: { 'Fn::Sub': '${AWS::Region}-${Name}' },
    });
    assert.equal((root.provider as Record<string, Resolved>).stage, 'test');
  });

  it('includes ${file(...)} relative to the service file, resolving the variables inside it', () => {
    // Act
    const { root } = load(
      ['service: svc', 'custom:', '  names: ${file(./names.yml)}', '  one: ${file(./names.yml):table}'].join(
        '\n',
      ),
      { 'names.yml': 'table: ${self:service}-${sls:stage}\nqueue: !Ref Q\n' },
      { stage: 'prod' },
    );

    // Assess
    assert.deepEqual(root.custom, { names: { table: 'svc-prod', queue: { Ref: 'Q' } }, one: 'svc-prod' });
  });

  it('names the path and the variable when a variable cannot be resolved', () => {
    // Act / Assess
    assert.throws(
      () => load('service: svc\ncustom:\n  x: ${self:custom.nothing}\n'),
      (error: unknown) =>
        error instanceof ServerlessConfigError && /custom\.x.*self:custom\.nothing/.test(error.message),
    );
  });

  it('resolves Ref, GetAtt, Join and Sub against local tables and queues', () => {
    // Prepare
    const ctx: IntrinsicContext = {
      region: 'us-east-1',
      stackName: 'svc-test',
      resources: {
        Table: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'svc-t' } },
        Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'svc-q' } },
      },
      queueUrl: (name) => `http://sqs.us-east-1.localhost:1/000000000000/${name}`,
    };

    // Act
    const resolved = resolveIntrinsics(
      {
        table: { Ref: 'Table' },
        tableArn: { 'Fn::GetAtt': ['Table', 'Arn'] },
        queue: { Ref: 'Queue' },
        index: { 'Fn::Join': ['/', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, 'index', '*']] },
        sub: { 'Fn::Sub': '${Queue.Arn}|${Table}|${AWS::AccountId}|${!Keep}' },
        subVars: { 'Fn::Sub': ['${X}!', { X: { Ref: 'Queue' } }] },
      },
      ctx,
    );

    // Assess
    assert.deepEqual(resolved, {
      table: 'svc-t',
      tableArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/svc-t',
      queue: 'http://sqs.us-east-1.localhost:1/000000000000/svc-q',
      index: 'arn:aws:dynamodb:us-east-1:000000000000:table/svc-t/index/*',
      sub: 'arn:aws:sqs:us-east-1:000000000000:svc-q|svc-t|000000000000|${Keep}',
      subVars: 'http://sqs.us-east-1.localhost:1/000000000000/svc-q!',
    });
  });

  it('reads routes, authorizers, SQS triggers and schedules out of the real serverless.yml', () => {
    // Act
    const service = describeService(
      loadServerlessDocument({ serverlessFile: SERVERLESS_FILE, stage: 'local' }),
    );

    // Assess
    assert.ok(
      service.routes.some(
        (route) => route.routeKey === 'POST /v1/objects' && route.authorizer === 'bearerToken',
      ),
    );
    assert.equal(service.authorizers.bearerToken?.functionName, 'authorizer');
    assert.deepEqual(service.authorizers.bearerToken?.identitySource, ['$request.header.Authorization']);
    assert.deepEqual(
      service.sqsTriggers.map((trigger) => [trigger.functionName, trigger.reportBatchItemFailures]),
      [
        ['dlqConsumer', true],
        ['lastResult', true],
      ],
    );
    assert.deepEqual(
      service.schedules.map((schedule) => schedule.functionName),
      ['watchdog'],
    );
    assert.deepEqual(Object.keys(service.resources).sort(), [
      'AlarmEmailSubscription',
      'AlarmTopic',
      'ArtifactsBucket',
      'ArtifactsBucketPolicy',
      'ArtifactsRole',
      'AuthorizerRole',
      'CommandsRole',
      'CommandsTable',
      'CompletionsDeadLetterQueue',
      'CompletionsDeadLetterQueueAlarm',
      'CompletionsQueue',
      'ConnectionsTable',
      'ConsoleRole',
      'DeadLetterQueue',
      'DeadLetterQueueAlarm',
      'DlqConsumerRole',
      'LastResultRole',
      'OpenapiRole',
      'PushFanoutRole',
      'PushPostPolicy',
      'PushRole',
      'StateRole',
      'StateTable',
      'WatchdogCursorLagAlarm',
      'WatchdogRole',
      'WorkerApiRole',
      'WorkerQueueRole',
      'WorkersRole',
    ]);
  });
});

describe('serverless.yml resolution compared with osls', () => {
  it('resolves functions, events, custom and provider.environment as `osls print --stage local` does', async () => {
    // Prepare: osls resolves ${aws:accountId} through STS; fauxqs answers STS on loopback, so no network is used.
    const sts = buildApp({ logger: false });
    await sts.listen({ port: 0, host: '127.0.0.1' });
    const stsPort = (sts.server.address() as { port: number }).port;
    let printed: Record<string, Resolved>;
    try {
      const { stdout } = await promisify(execFile)(
        'npx',
        ['osls', 'print', '--format', 'json', '--stage', 'local'],
        {
          cwd: REPO,
          timeout: 60_000,
          encoding: 'utf8',
          env: {
            ...process.env,
            SLS_TELEMETRY_DISABLED: '1',
            SLS_NOTIFICATIONS_MODE: 'off',
            AWS_ACCESS_KEY_ID: 'local',
            AWS_SECRET_ACCESS_KEY: 'local',
            AWS_REGION: 'us-east-1',
            AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${stsPort}`,
          },
        },
      );
      printed = JSON.parse(stdout) as Record<string, Resolved>;
    } finally {
      await sts.close();
    }

    // Act
    const { root } = loadServerlessDocument({ serverlessFile: SERVERLESS_FILE, stage: 'local' });

    // Assess
    const provider = (doc: Record<string, Resolved>) => doc.provider as Record<string, Resolved>;
    assert.deepEqual(provider(root).environment, provider(printed).environment);
    assert.deepEqual(provider(root).httpApi, provider(printed).httpApi);
    assert.deepEqual(provider(root).iam, provider(printed).iam);
    assert.deepEqual(root.custom, printed.custom);
    const functions = root.functions as Record<string, Record<string, Resolved>>;
    const printedFunctions = printed.functions as Record<string, Record<string, Resolved>>;
    assert.deepEqual(Object.keys(functions).sort(), Object.keys(printedFunctions).sort());
    for (const [name, fn] of Object.entries(functions)) {
      assert.equal(fn.handler, printedFunctions[name]?.handler, `${name}.handler`);
      assert.deepEqual(fn.events ?? [], printedFunctions[name]?.events ?? [], `${name}.events`);
    }
    const printedResources = (printed.resources as { Resources?: Record<string, { Properties?: Resolved }> })
      .Resources;
    const service = describeService(
      loadServerlessDocument({ serverlessFile: SERVERLESS_FILE, stage: 'local' }),
    );
    for (const [id, resource] of Object.entries(service.resources))
      assert.deepEqual(resource.Properties, printedResources?.[id]?.Properties, `resources.${id}`);
  });
});
