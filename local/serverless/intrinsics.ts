// Pass 2 over serverless.yml: CloudFormation intrinsics (Ref, GetAtt, Sub, Join, ...) against the local resources.
import { ServerlessConfigError } from '../errors.ts';
import { isMap } from './yaml.ts';
import type { Resolved, ResolvedMap } from './yaml.ts';

/** The account id every local ARN and queue URL uses (fauxqs uses the same). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface CfnResource {
  Type: string;
  Properties: ResolvedMap;
}

export interface IntrinsicContext {
  region: string;
  stackName: string;
  resources: Record<string, CfnResource>;
  /** The local URL of the queue with this name (known once the emulator runs). */
  queueUrl(queueName: string): string;
}

/** The resource types the local stack creates (resources.ts); other types (alarms) have no local meaning. */
export const TABLE = 'AWS::DynamoDB::Table';
export const QUEUE = 'AWS::SQS::Queue';
/** Made in fauxqs's S3 (its policy, encryption and lifecycle have no local meaning). */
export const BUCKET = 'AWS::S3::Bucket';
/** Roles are not made locally (nothing checks IAM there), but a role's ARN is a name the functions may be given. */
export const ROLE = 'AWS::IAM::Role';

/**
 * The physical name of a table, queue or bucket: its declared name, else `<stack>-<logicalId>` as
 * CloudFormation would (lower case for a bucket, as S3 names must be).
 */
export function physicalName(logicalId: string, resource: CfnResource, stackName: string): string {
  const declared =
    resource.Type === TABLE
      ? resource.Properties.TableName
      : resource.Type === BUCKET
        ? resource.Properties.BucketName
        : resource.Properties.QueueName;
  if (typeof declared === 'string') return declared;
  const name = `${stackName}-${logicalId}`;
  return resource.Type === BUCKET ? name.toLowerCase() : name;
}

export function queueArn(region: string, name: string): string {
  return `arn:aws:sqs:${region}:${LOCAL_ACCOUNT_ID}:${name}`;
}

export function tableArn(region: string, name: string): string {
  return `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT_ID}:table/${name}`;
}

function resourceOf(ctx: IntrinsicContext, logicalId: string, path: string): CfnResource {
  const resource = ctx.resources[logicalId];
  if (!resource)
    throw new ServerlessConfigError(`${path}: no resource ${logicalId} in the resources`, {
      details: { path, logicalId },
    });
  return resource;
}

function ref(ctx: IntrinsicContext, name: string, path: string): string {
  switch (name) {
    case 'AWS::Region':
      return ctx.region;
    case 'AWS::AccountId':
      return LOCAL_ACCOUNT_ID;
    case 'AWS::StackName':
      return ctx.stackName;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
  }
  const resource = resourceOf(ctx, name, path);
  const physical = physicalName(name, resource, ctx.stackName);
  if (resource.Type === QUEUE) return ctx.queueUrl(physical);
  return resource.Type === TABLE || resource.Type === BUCKET ? physical : name;
}

function getAtt(ctx: IntrinsicContext, logicalId: string, attribute: string, path: string): string {
  const resource = resourceOf(ctx, logicalId, path);
  const physical = physicalName(logicalId, resource, ctx.stackName);
  if (resource.Type === QUEUE) {
    if (attribute === 'Arn') return queueArn(ctx.region, physical);
    if (attribute === 'QueueName') return physical;
    if (attribute === 'QueueUrl') return ctx.queueUrl(physical);
  }
  if (resource.Type === TABLE && attribute === 'Arn') return tableArn(ctx.region, physical);
  if (resource.Type === BUCKET && attribute === 'Arn') return `arn:aws:s3:::${physical}`;
  if (resource.Type === ROLE && attribute === 'Arn')
    return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${ctx.stackName}-${logicalId}`;
  throw new ServerlessConfigError(`${path}: the local stack cannot resolve ${logicalId}.${attribute}`, {
    details: { path, logicalId, attribute },
  });
}

function sub(ctx: IntrinsicContext, template: string, variables: ResolvedMap, path: string): string {
  return template.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
    if (name.startsWith('!')) return `\${${name.slice(1)}}`;
    const given = variables[name];
    if (given !== undefined) return String(resolveIntrinsics(given, ctx, path));
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::'))
      return getAtt(ctx, name.slice(0, dot), name.slice(dot + 1), path);
    return ref(ctx, name, path);
  });
}

/** Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split anywhere in `value` (pass 2). */
export function resolveIntrinsics(value: Resolved, ctx: IntrinsicContext, path = ''): Resolved {
  if (Array.isArray(value)) return value.map((item, i) => resolveIntrinsics(item, ctx, `${path}.${i}`));
  if (!isMap(value)) return value;
  const keys = Object.keys(value);
  const [only] = keys;
  if (keys.length === 1 && only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) {
    const argument = value[only] as Resolved;
    const args = Array.isArray(argument) ? argument.map((item) => resolveIntrinsics(item, ctx, path)) : [];
    switch (only) {
      case 'Ref':
        return ref(ctx, String(argument), path);
      case 'Fn::GetAtt':
        return getAtt(ctx, String(args[0]), String(args[1]), path);
      case 'Fn::Join':
        return (args[1] as Resolved[]).map(String).join(String(args[0]));
      case 'Fn::Select':
        return (args[1] as Resolved[])[Number(args[0])] ?? null;
      case 'Fn::Split':
        return String(args[1]).split(String(args[0]));
      case 'Fn::Sub':
        return typeof argument === 'string'
          ? sub(ctx, argument, {}, path)
          : sub(ctx, String(args[0]), (args[1] ?? {}) as ResolvedMap, path);
    }
    throw new ServerlessConfigError(`${path}: the local stack does not resolve ${only}`, {
      details: { path },
    });
  }
  const out: ResolvedMap = {};
  for (const [key, item] of Object.entries(value)) out[key] = resolveIntrinsics(item, ctx, `${path}.${key}`);
  return out;
}
