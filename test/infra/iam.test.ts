// Least privilege, read off the packaged CloudFormation: each function's own role, its grants, the tables' and the API's guards.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadServerlessDocument } from '../../local/serverless/variables.ts';
import type { ResolvedMap } from '../../local/serverless/yaml.ts';
import { commandKey, dueShardOf, watchdogCursorKey } from '../../shared/commands/keys.ts';
import { workerKey } from '../../shared/workers/keys.ts';
import {
  OWN_LOG_GROUP,
  WORKER_QUEUES,
  codeActions,
  packageTemplate,
  roleOf,
  triggerQueues,
} from './iamSources.ts';
import type { CfnTemplate } from './iamSources.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const STAGE = 'iamtest';
const WORKER_QUEUE_PREFIX = `buildbot-serverless-${STAGE}-worker-`;

/** The one role no function runs as: a heartbeat assumes it to vend a worker its queue credentials. */
const WORKER_QUEUE_ROLE = 'WorkerQueueRole';

/** What Lambda's event source mapping does with the function's role on the queue that triggers it. */
const TRIGGER = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
/** What Lambda's event source mapping does with the function's role on the table stream that triggers it. */
const STREAM = [
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:ListStreams',
];
/** The fast path (infra/push-roles.yml PushPostPolicy): a command's subscribers, a gone one's items, the post. */
const PUSH_POST = {
  ConnectionsTable: ['dynamodb:Query', 'dynamodb:DeleteItem'],
  'WebsocketsApi/@connections': ['execute-api:ManageConnections'],
};
/** What the Lambda runtime does with every role: its function's log lines. */
const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];

/**
 * The reviewed table: what each function's role may do, on what (a logical id stands for its ARN;
 * `[CMD#*|WORKER#*]` are the partition keys it may reach, dynamodb:LeadingKeys). Every role also writes its
 * own log group (LOGS). Change it with infra/roles.yml, and say why in review. Only the authorizer (reading)
 * and workers reach TOKEN# items.
 */
const ALLOWED: Record<string, Record<string, string[]>> = {
  // TokenStore.resolve: the token's item. It cannot write a table or touch a queue.
  authorizer: { 'CommandsTable[TOKEN#*]': ['dynamodb:GetItem'] },
  state: {
    StateTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  },
  commands: {
    'CommandsTable[CMD#*|WORKER#*]': [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ],
    'CommandsTable/index/byWorker': ['dynamodb:Query'],
    CompletionsQueue: ['sqs:SendMessage'],
    [WORKER_QUEUES]: ['sqs:SendMessage'],
    'ArtifactsBucket/logs/*': ['s3:GetObject'],
    ...PUSH_POST,
  },
  workerApi: {
    ...PUSH_POST,
    'CommandsTable[CMD#*|WORKER#*]': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
    CompletionsQueue: ['sqs:SendMessage'],
    // The heartbeat vends queue credentials (shared/workers/credentials.ts).
    WorkerQueueRole: ['sts:AssumeRole'],
    'ArtifactsBucket/logs/*': ['s3:PutObject', 's3:GetObject'],
  },
  workers: {
    'CommandsTable[WORKER#*|TOKEN#*]': [
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:Query',
      'dynamodb:BatchGetItem',
    ],
    // GET /v1/workers: the worker-list partition of byWorker (shared/workers/list.ts).
    'CommandsTable/index/byWorker': ['dynamodb:Query'],
    [WORKER_QUEUES]: ['sqs:CreateQueue', 'sqs:DeleteQueue'],
  },
  // Presigned URLs and the artifact items beside command records (shared/artifacts).
  artifacts: {
    'CommandsTable[CMD#*]': ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
    'ArtifactsBucket/blobs/*': ['s3:PutObject', 's3:GetObject'],
    'ArtifactsBucket/artifacts/*': ['s3:PutObject', 's3:GetObject'],
  },
  openapi: {},
  console: {},
  watchdog: {
    'CommandsTable[CMD#*|WORKER#*|WATCHDOG]': [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchGetItem',
    ],
    'CommandsTable/index/dueByDeadline': ['dynamodb:Query'],
    CompletionsQueue: ['sqs:SendMessage'],
    ...PUSH_POST,
  },
  dlqConsumer: {
    DeadLetterQueue: TRIGGER,
    'CommandsTable[CMD#*]': ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    CompletionsQueue: ['sqs:SendMessage'],
    ...PUSH_POST,
  },
  // $connect's token check, and a connection's own items (shared/push/routes.ts); a command's watch mark
  // (shared/push/snapshot.ts), which is the subscription's snapshot too.
  push: {
    'CommandsTable[CMD#*|TOKEN#*]': ['dynamodb:GetItem'],
    'CommandsTable[CMD#*]': ['dynamodb:UpdateItem'],
    ConnectionsTable: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  },
  pushFanout: {
    'CommandsTable/stream': STREAM,
    ...PUSH_POST,
  },
  lastResult: {
    CompletionsQueue: TRIGGER,
    StateTable: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  },
};

/**
 * SDK calls a function's bundled modules construct that the function never makes, each with the reason: a
 * module is read whole (a class's methods, a helper's siblings), so these are in its code but not on its path.
 */
const IMPORTED_NOT_CALLED: Record<string, Record<string, string>> = {
  authorizer: {
    'dynamodb:PutItem': 'TokenStore.issue: only workers registers tokens',
    'dynamodb:DeleteItem': 'TokenStore.revoke: only workers revokes tokens',
  },
  state: {},
  commands: {
    's3:PutObject':
      'shared/artifacts/s3.ts signs PUTs too: reads only GET log objects (shared/logs/objects.ts)',
  },
  workerApi: {
    'dynamodb:ConditionCheckItem':
      "TransactWrite's ConditionCheck: the heartbeat's condition is on its Update",
  },
  workers: {
    'dynamodb:GetItem': 'records.ts loadWorkerRecord: workers reads a worker and its registry in one Query',
  },
  artifacts: {
    'dynamodb:UpdateItem': 'items.ts updateCommand: artifacts reads a command record, it changes none',
    'dynamodb:DeleteItem': 'conditionalWrite.ts conditionalDelete',
  },
  openapi: {},
  console: {},
  watchdog: {},
  dlqConsumer: {
    'dynamodb:PutItem': 'conditionalWrite.ts conditionalPut: ending a command is an update',
  },
  push: {},
  pushFanout: {
    'dynamodb:GetItem': 'items.ts loadCommand: the fan-out decodes records from the stream, it reads none',
    'dynamodb:PutItem': 'conditionalWrite.ts conditionalPut, beside the item decoders it uses',
    'dynamodb:UpdateItem': 'items.ts updateCommand: the fan-out writes no command',
  },
  lastResult: {
    'dynamodb:DeleteItem': "lease.ts: the exactlyOnce lease's release, which only atomicCreateState takes",
  },
};

function expectedGrants(functionName: string): Set<string> {
  const grants = new Set(LOGS.map((action) => `${action} on ${OWN_LOG_GROUP}`));
  for (const [resource, actions] of Object.entries(ALLOWED[functionName] ?? {}))
    for (const action of actions) grants.add(`${action} on ${resource}`);
  return grants;
}

function actionsOf(grants: Iterable<string>): Set<string> {
  return new Set([...grants].map((grant) => grant.slice(0, grant.indexOf(' on '))));
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

describe('least privilege, per function (packaged CloudFormation)', () => {
  let template: CfnTemplate;
  let calls: Record<string, Set<string>>;
  let functionNames: string[];

  before(async () => {
    // The package and the bundles side by side: about 10-20 s on this machine, most of it osls.
    [template, calls] = await Promise.all([packageTemplate(REPO, STAGE), codeActions(REPO)]);
    functionNames = Object.keys(calls).sort();
  });

  it('gives every function a role of its own that only Lambda can assume, and no shared role', () => {
    // Assess
    assert.deepEqual(functionNames, Object.keys(ALLOWED).sort(), 'a function without a reviewed row');
    const roles = functionNames.map((name) => roleOf(template, name, WORKER_QUEUE_PREFIX));
    assert.equal(new Set(roles.map((role) => role.roleId)).size, functionNames.length);
    assert.equal(template.Resources.IamRoleLambdaExecution, undefined, "osls's shared role is back");
    const roleIds = Object.entries(template.Resources)
      .filter(([, resource]) => resource.Type === 'AWS::IAM::Role')
      .map(([id]) => id);
    assert.deepEqual(
      sorted(roleIds),
      sorted([...roles.map((role) => role.roleId), WORKER_QUEUE_ROLE]),
      'a role no function uses',
    );
    for (const role of roles) {
      assert.deepEqual(role.trustedServices, ['lambda.amazonaws.com'], role.roleId);
      assert.equal(role.managedPolicies, 0, `${role.roleId}: managed policies are not reviewed here`);
      assert.equal(role.denies, 0, `${role.roleId}: a statement other than Allow`);
    }
  });

  it('lets only the worker API assume the worker-queue role, which reaches worker queues alone, for an hour', () => {
    // Act
    const properties = template.Resources[WORKER_QUEUE_ROLE]?.Properties ?? {};
    const trust = JSON.stringify(properties.AssumeRolePolicyDocument);
    const statements = (properties.Policies as { PolicyDocument: { Statement: unknown[] } }[]).flatMap(
      (policy) => policy.PolicyDocument.Statement,
    );

    // Assess: the session policy of each AssumeRole narrows this to one worker's queue (credentials.test.ts).
    assert.deepEqual(JSON.parse(trust).Statement, [
      {
        Effect: 'Allow',
        Principal: {
          AWS: { 'Fn::GetAtt': [roleOf(template, 'workerApi', WORKER_QUEUE_PREFIX).roleId, 'Arn'] },
        },
        Action: 'sts:AssumeRole',
      },
    ]);
    assert.deepEqual(statements, [
      {
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
        Resource: {
          'Fn::Sub': `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${WORKER_QUEUE_PREFIX}*`,
        },
      },
    ]);
    assert.equal(properties.MaxSessionDuration, 3600);
  });

  it("grants each role exactly the reviewed table's actions on its named resources", () => {
    for (const name of functionNames) {
      // Act
      const { grants } = roleOf(template, name, WORKER_QUEUE_PREFIX);

      // Assess
      assert.deepEqual(sorted(grants), sorted(expectedGrants(name)), `${name}'s role`);
      for (const grant of grants)
        assert.doesNotMatch(grant, /^\S*\*|on (\*|")/, `${name}: a wildcard action or resource`);
    }
  });

  it('grants no function an action its code never calls', () => {
    for (const name of functionNames) {
      // Prepare: what the platform does with the role: its logs, and its triggers' polling.
      const triggers = triggerQueues(template, name);
      const streams = triggerQueues(template, name, 'stream');
      const platform = new Set([
        ...LOGS.map((action) => `${action} on ${OWN_LOG_GROUP}`),
        ...triggers.flatMap((queue) => TRIGGER.map((action) => `${action} on ${queue}`)),
        ...streams.flatMap((stream) => STREAM.map((action) => `${action} on ${stream}`)),
      ]);

      // Act
      const granted = [...roleOf(template, name, WORKER_QUEUE_PREFIX).grants].filter(
        (grant) => !platform.has(grant),
      );

      // Assess
      const neverCalled = sorted(actionsOf(granted)).filter((action) => !calls[name]?.has(action));
      assert.deepEqual(neverCalled, [], `${name} is granted actions its code never calls`);
      const triggerGrants = [...platform].filter((grant) => !grant.startsWith('logs:'));
      for (const grant of triggerGrants)
        assert.ok(expectedGrants(name).has(grant), `${name} is triggered by ${grant} but not granted it`);
    }
  });

  it("allows every SDK call in a function's code, or lists it as imported and never called", () => {
    for (const name of functionNames) {
      // Prepare
      const allowed = actionsOf(expectedGrants(name));
      const notCalled = IMPORTED_NOT_CALLED[name] ?? {};

      // Act
      const code = calls[name] ?? new Set<string>();

      // Assess
      const unreviewed = sorted(code).filter((action) => !allowed.has(action) && !(action in notCalled));
      assert.deepEqual(
        unreviewed,
        [],
        `${name}'s code calls these; grant them (infra/roles.yml) or list why not`,
      );
      const stale = Object.keys(notCalled).filter((action) => !code.has(action) || allowed.has(action));
      assert.deepEqual(stale, [], `${name}: IMPORTED_NOT_CALLED entries that no longer hold`);
    }
  });

  it("holds the commands table's key conditions to the partition keys the key builders write", () => {
    // Prepare: the TOKEN# prefix is tokens.ts's own (its key builder is private); the others are exported.
    const written = [
      commandKey('c').pk,
      workerKey('w').pk,
      watchdogCursorKey(dueShardOf('c')).pk,
      'TOKEN#hash',
    ];

    // Act
    const patterns = new Set(
      Object.values(ALLOWED).flatMap((row) =>
        Object.keys(row).flatMap((resource) => /\[(.*)\]$/.exec(resource)?.[1]?.split('|') ?? []),
      ),
    );

    // Assess
    for (const pattern of patterns) {
      const matches = (pk: string) =>
        pattern.endsWith('*') ? pk.startsWith(pattern.slice(0, -1)) : pk === pattern;
      assert.ok(written.some(matches), `${pattern} matches no key the code writes`);
    }
    for (const pk of written)
      assert.ok(
        [...patterns].some((pattern) => pk.startsWith(pattern.replace(/\*$/, ''))),
        pk,
      );
  });

  it('keeps the tables under deletion protection, and retains them when the stack goes', () => {
    // Act
    const all = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table');
    // The connections table holds nothing that outlives a connection (2 hours): it goes with the stack.
    const tables = all.filter(([id]) => id !== 'ConnectionsTable');

    // Assess
    assert.deepEqual(sorted(all.map(([id]) => id)), ['CommandsTable', 'ConnectionsTable', 'StateTable']);
    for (const [id, table] of tables) {
      assert.equal(table.Properties?.DeletionProtectionEnabled, true, id);
      assert.equal(table.DeletionPolicy, 'Retain', id);
      assert.equal(table.UpdateReplacePolicy, 'Retain', id);
    }
  });

  it('throttles every route of the HTTP API, 500 a second with bursts of 1000 unless configured', () => {
    // Act
    const settings = template.Resources.HttpApiStage?.Properties?.DefaultRouteSettings;
    const configured = loadServerlessDocument({
      serverlessFile: join(REPO, 'serverless.yml'),
      stage: STAGE,
      env: { BBS_API_RATE_LIMIT: '20', BBS_API_BURST_LIMIT: '40' },
    });

    // Assess
    assert.deepEqual(settings, {
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: 500,
      ThrottlingBurstLimit: 1000,
    });
    const parts = configured.root.resources as ResolvedMap[];
    const stage = parts.find((part) => part.extensions !== undefined)?.extensions as ResolvedMap;
    // The client read routes' own limits (RouteSettings) are held by operations.test.ts.
    assert.deepEqual(((stage.HttpApiStage as ResolvedMap).Properties as ResolvedMap).DefaultRouteSettings, {
      DetailedMetricsEnabled: false,
      ThrottlingRateLimit: '20',
      ThrottlingBurstLimit: '40',
    });
  });
});
