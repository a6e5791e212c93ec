// What iam.test.ts compares: the roles of the packaged CloudFormation, and the AWS SDK calls in each function's bundle.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { loadServerlessDocument } from '../../local/serverless/variables.ts';
import type { ResolvedMap } from '../../local/serverless/yaml.ts';
import { processExists } from '../../shared/processes.ts';

export type CfnValue = string | number | boolean | null | CfnValue[] | { [key: string]: CfnValue };
export interface CfnResource {
  Type: string;
  Properties?: Record<string, CfnValue>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
}

/** A resource as the reviewed table names it (see resourceName). */
export const WORKER_QUEUES = 'worker queues';
export const OWN_LOG_GROUP = 'own log group';

/** osls's logical-id prefix for a function: `workerApi` → `WorkerApi` (WorkerApiLambdaFunction, ...). */
export function logicalPrefix(functionName: string): string {
  return functionName.charAt(0).toUpperCase() + functionName.slice(1);
}

/**
 * `osls package` into a directory of its own (no AWS credentials needed), then its update-stack template: the
 * template a deploy would send. Stdin is closed and the run bounded: one osls run here, in a shell pipeline,
 * hung for 10 minutes with its stdin open (cause not found; the same command then took 20 s).
 */
/**
 * One `osls package` of this checkout at a time, across processes: two at once (npm test runs two files together,
 * and iam.test.ts and operations.test.ts both package) share serverless-esbuild's `.esbuild/` work directory and
 * one of them crashes. A directory is the lock (mkdir is atomic); a lock whose holder died is taken over.
 */
async function oneAtATime<T>(repo: string, work: () => Promise<T>): Promise<T> {
  const lock = join(repo, '.local-data', 'osls-package.lock');
  mkdirSync(join(repo, '.local-data'), { recursive: true });
  for (const deadline = Date.now() + 600_000; ;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
      if (holder > 0 && !processExists(holder)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline)
        throw new Error(`${lock} held for 10 minutes by pid ${holder}`, { cause: error });
      else await sleep(200);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export async function packageTemplate(repo: string, stage: string): Promise<CfnTemplate> {
  return oneAtATime(repo, () => packageOnce(repo, stage));
}

async function packageOnce(repo: string, stage: string): Promise<CfnTemplate> {
  const out = mkdtempSync(join(tmpdir(), 'bbs-iam-package-'));
  try {
    const child = promisify(execFile)(
      join(repo, 'node_modules', '.bin', 'osls'),
      ['package', '--stage', stage, '--package', out],
      {
        cwd: repo,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        timeout: 240_000,
      },
    );
    child.child.stdin?.end();
    await child;
    const text = readFileSync(join(out, 'cloudformation-template-update-stack.json'), 'utf8');
    return JSON.parse(text) as CfnTemplate;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function isMap(value: CfnValue | undefined): value is { [key: string]: CfnValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: CfnValue | undefined): CfnValue[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * A statement's resource as the reviewed table names it: a logical id (its ARN), `<Table>/index/<name>`,
 * WORKER_QUEUES (the worker-queue prefix pattern), OWN_LOG_GROUP; anything else as its JSON, which no table
 * entry matches, so an unexpected form fails the comparison rather than passing unseen.
 */
export function resourceName(value: CfnValue, ctx: { logGroup: string; workerQueuePrefix: string }): string {
  if (isMap(value)) {
    const getAtt = value['Fn::GetAtt'];
    // A table's stream: `CommandsTable/stream`.
    if (Array.isArray(getAtt) && getAtt[1] === 'StreamArn') return `${String(getAtt[0])}/stream`;
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
      const id = String(getAtt[0]);
      return id === ctx.logGroup ? OWN_LOG_GROUP : id;
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && join[0] === '/' && Array.isArray(join[1]) && join[1].length === 3) {
      const [table, index, name] = join[1];
      if (table !== undefined && index === 'index' && typeof name === 'string' && name !== '*')
        return `${resourceName(table, ctx)}/index/${name}`;
    }
    const sub = value['Fn::Sub'];
    // PostToConnection on the WebSocket API's connections (infra/push-roles.yml).
    if (
      typeof sub === 'string' &&
      /:execute-api:.*:\$\{WebsocketsApi\}\/\*\/POST\/@connections\/\*$/.test(sub)
    )
      return 'WebsocketsApi/@connections';
    const workerQueues = `arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:${ctx.workerQueuePrefix}*`;
    if (sub === workerQueues) return WORKER_QUEUES;
    // Objects under a prefix of a bucket: `${Bucket.Arn}/prefix/*` reads `Bucket/prefix/*`.
    const objects = typeof sub === 'string' ? /^\$\{(\w+)\.Arn\}(\/.+)$/.exec(sub) : null;
    if (objects) return `${objects[1]}${objects[2]}`;
  }
  return JSON.stringify(value);
}

/**
 * A statement's condition as the reviewed table writes it: `[CMD#*|WORKER#*]` for the partition keys it may
 * reach (`ForAllValues:StringLike` on `dynamodb:LeadingKeys`), '' for none, its JSON for any other condition.
 */
export function leadingKeys(condition: CfnValue | undefined): string {
  if (condition === undefined) return '';
  const like = isMap(condition) ? condition['ForAllValues:StringLike'] : undefined;
  const keys = isMap(like) ? like['dynamodb:LeadingKeys'] : undefined;
  if (Object.keys(condition ?? {}).length === 1 && isMap(like) && Object.keys(like).length === 1 && keys)
    return `[${list(keys).map(String).join('|')}]`;
  return ` if ${JSON.stringify(condition)}`;
}

/** One function's role: its logical id, trust policy principals, managed policies and `<action> on <resource>` grants. */
export interface RoleGrants {
  roleId: string;
  trustedServices: string[];
  managedPolicies: number;
  denies: number;
  grants: Set<string>;
}

export function roleOf(template: CfnTemplate, functionName: string, workerQueuePrefix: string): RoleGrants {
  const prefix = logicalPrefix(functionName);
  const role = template.Resources[`${prefix}LambdaFunction`]?.Properties?.Role;
  const getAtt = isMap(role) ? role['Fn::GetAtt'] : undefined;
  if (!Array.isArray(getAtt)) throw new Error(`${functionName}: its Role is not a role of this stack`);
  const roleId = String(getAtt[0]);
  const properties = template.Resources[roleId]?.Properties ?? {};
  const trust = isMap(properties.AssumeRolePolicyDocument) ? properties.AssumeRolePolicyDocument : {};
  const trustedServices = list(trust.Statement).flatMap((statement) =>
    isMap(statement) && isMap(statement.Principal) ? list(statement.Principal.Service).map(String) : [],
  );
  const grants = new Set<string>();
  let denies = 0;
  const ctx = { logGroup: `${prefix}LogGroup`, workerQueuePrefix };
  // Inline policies attached from outside the role (AWS::IAM::Policy with Roles: [!Ref Role]) are the role's too.
  const attached = Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((resource) => list(resource.Properties?.Roles).some((ref) => isMap(ref) && ref.Ref === roleId))
    .map((resource) => resource.Properties ?? {});
  for (const policy of [...list(properties.Policies), ...attached]) {
    const document = isMap(policy) && isMap(policy.PolicyDocument) ? policy.PolicyDocument : {};
    for (const statement of list(document.Statement)) {
      if (!isMap(statement) || statement.Effect !== 'Allow') {
        denies++;
        continue;
      }
      const keys = leadingKeys(statement.Condition);
      for (const action of list(statement.Action))
        for (const resource of list(statement.Resource))
          grants.add(`${String(action)} on ${resourceName(resource, ctx)}${keys}`);
    }
  }
  return {
    roleId,
    trustedServices,
    managedPolicies: list(properties.ManagedPolicyArns).length,
    denies,
    grants,
  };
}

/**
 * The queues (or, with `kind: 'stream'`, the tables whose streams: `Table/stream`) whose event source mappings
 * invoke `functionName` (its triggers), by logical id.
 */
export function triggerQueues(
  template: CfnTemplate,
  functionName: string,
  kind: 'queue' | 'stream' = 'queue',
): string[] {
  const target = `${logicalPrefix(functionName)}LambdaFunction`;
  const isStream = (resource: CfnResource) => {
    const arn = resource.Properties?.EventSourceArn;
    return isMap(arn) && Array.isArray(arn['Fn::GetAtt']) && arn['Fn::GetAtt'][1] === 'StreamArn';
  };
  return Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::EventSourceMapping')
    .filter((resource) => isStream(resource) === (kind === 'stream'))
    .filter((resource) => {
      const fn = resource.Properties?.FunctionName;
      return isMap(fn) && Array.isArray(fn['Fn::GetAtt']) && fn['Fn::GetAtt'][0] === target;
    })
    .map((resource) => {
      const arn = resource.Properties?.EventSourceArn;
      if (!isMap(arn) || !Array.isArray(arn['Fn::GetAtt'])) return JSON.stringify(arn);
      return kind === 'stream' ? `${String(arn['Fn::GetAtt'][0])}/stream` : String(arn['Fn::GetAtt'][0]);
    });
}

/** lib-dynamodb's commands and the item-level actions IAM checks for them (a transaction: each of its items). */
const DOCUMENT_COMMANDS: Record<string, string[]> = {
  GetCommand: ['GetItem'],
  PutCommand: ['PutItem'],
  UpdateCommand: ['UpdateItem'],
  DeleteCommand: ['DeleteItem'],
  QueryCommand: ['Query'],
  ScanCommand: ['Scan'],
  BatchGetCommand: ['BatchGetItem'],
  BatchWriteCommand: ['BatchWriteItem'],
  TransactGetCommand: ['GetItem'],
  TransactWriteCommand: ['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
};

/** Client commands whose IAM action is another's: batches, and transactions checked per item. */
const CLIENT_ACTIONS: Record<string, string[]> = {
  'dynamodb:TransactWriteItems': ['PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
  'dynamodb:TransactGetItems': ['GetItem'],
  'sqs:SendMessageBatch': ['SendMessage'],
  'sqs:DeleteMessageBatch': ['DeleteMessage'],
  'sqs:ChangeMessageVisibilityBatch': ['ChangeMessageVisibility'],
};

/** Client commands whose IAM action is in another service: PostToConnection is execute-api's. */
const SERVICE_ACTIONS: Record<string, string> = {
  'apigatewaymanagementapi:PostToConnection': 'execute-api:ManageConnections',
};

const SDK_IMPORT = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/([\w-]+)'/g;

/** The IAM actions of the SDK commands `source` constructs (`new XCommand(`), by the package each is imported from. */
export function sdkActionsOf(source: string, file: string): Set<string> {
  const actions = new Set<string>();
  // Requests signed without an SDK client (shared/artifacts/s3.ts presigns S3's) name their action:
  // `iamAction: 's3:PutObject'`. A presigned URL acts with the signing role's rights, so it counts as a call.
  for (const [, action = ''] of source.matchAll(/iamAction:\s*'([a-z0-9-]+:[A-Za-z]+)'/g))
    actions.add(action);
  for (const [, specifiers = '', pkg = ''] of source.matchAll(SDK_IMPORT)) {
    for (const specifier of specifiers.split(',').map((part) => part.trim())) {
      if (specifier === '' || specifier.startsWith('type ')) continue;
      const [imported = '', local = imported] = specifier.split(/\s+as\s+/);
      if (!imported.endsWith('Command') || !new RegExp(`new\\s+${local}\\s*\\(`).test(source)) continue;
      if (pkg === 'lib-dynamodb') {
        const mapped = DOCUMENT_COMMANDS[imported];
        if (!mapped) throw new Error(`${file}: add lib-dynamodb's ${imported} to DOCUMENT_COMMANDS`);
        for (const action of mapped) actions.add(`dynamodb:${action}`);
        continue;
      }
      if (!pkg.startsWith('client-')) throw new Error(`${file}: a command from @aws-sdk/${pkg}`);
      const action = `${pkg.slice('client-'.length)}:${imported.slice(0, -'Command'.length)}`;
      const elsewhere = SERVICE_ACTIONS[action];
      if (elsewhere) {
        actions.add(elsewhere);
        continue;
      }
      const service = action.slice(0, action.indexOf(':'));
      for (const name of CLIENT_ACTIONS[action] ?? [action.slice(service.length + 1)])
        actions.add(`${service}:${name}`);
    }
  }
  return actions;
}

/**
 * The IAM actions each function's code may call: esbuild bundles every function as serverless.yml's
 * custom.esbuild does, and its metafile names the project modules left in each bundle after tree shaking;
 * their SDK commands are the function's. A module is read whole, so a class's unused method counts too:
 * iam.test.ts lists those as imported and never called.
 */
export async function codeActions(repo: string): Promise<Record<string, Set<string>>> {
  const { root } = loadServerlessDocument({ serverlessFile: join(repo, 'serverless.yml'), stage: 'dev' });
  const custom = (root.custom as ResolvedMap).esbuild as ResolvedMap;
  const { exclude: _exclude, outputFileExtension: _extension, ...options } = custom;
  const functions = root.functions as Record<string, ResolvedMap>;
  const entryPoints = Object.fromEntries(
    Object.entries(functions).map(([name, fn]) => [name, `${String(fn.handler).replace(/\.[^.]+$/, '')}.ts`]),
  );
  const out = mkdtempSync(join(tmpdir(), 'bbs-iam-bundle-'));
  try {
    const result = await build({
      ...(options as BuildOptions),
      minify: false,
      entryPoints,
      outdir: out,
      write: false,
      metafile: true,
      absWorkingDir: repo,
      logLevel: 'silent',
    });
    const actions: Record<string, Set<string>> = {};
    for (const output of Object.values(result.metafile.outputs)) {
      const name = Object.keys(entryPoints).find((fn) => entryPoints[fn] === output.entryPoint);
      if (!name) continue;
      actions[name] = new Set();
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        if (bytesInOutput === 0 || !/^(functions|shared)\//.test(input)) continue;
        for (const action of sdkActionsOf(readFileSync(join(repo, input), 'utf8'), input))
          actions[name].add(action);
      }
    }
    return actions;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
