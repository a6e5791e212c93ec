import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import YAML from 'yaml';
import { ServerlessConfigError } from './errors.ts';

/**
 * serverless.yml as the local stack sees it. Two passes, as on AWS:
 *   1. Serverless variables (`${self:...}`, `${sls:stage}`, `${opt:...}`, `${file(...)}`, ...) are resolved the way
 *      `osls print` resolves them; CloudFormation tags become their JSON form (`!Ref X` → `{ Ref: 'X' }`).
 *   2. CloudFormation intrinsics are resolved against the local resources (`resolveIntrinsics`), once the local
 *      queue URLs are known.
 * Everything the stack serves (routes, authorizers, SQS triggers, schedules, environment, tables, queues) comes
 * from `describeService`, so a route added to serverless.yml is served with no other edit.
 */

/** The account id every local ARN and queue URL uses (fauxqs uses the same). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LoadServerlessOptions {
  /** Absolute or cwd-relative path of serverless.yml. */
  serverlessFile: string;
  /** `--stage`: what `${opt:stage}` and `${sls:stage}` resolve to. */
  stage: string;
  /** `--region`: what `${opt:region}` resolves to; unset leaves the file's default. @default undefined */
  region?: string;
  /** What `${env:NAME}` reads. @default process.env */
  env?: NodeJS.ProcessEnv;
}

export type Resolved = string | number | boolean | null | Resolved[] | { [key: string]: Resolved };
export type ResolvedMap = { [key: string]: Resolved };

/** The service file after pass 1, with where it came from. */
export interface ServerlessDocument {
  file: string;
  dir: string;
  stage: string;
  region: string;
  root: ResolvedMap;
}

// ---------------------------------------------------------------------------------------------------------------
// YAML with CloudFormation tags

const CFN_FUNCTIONS = [
  'Base64',
  'Cidr',
  'FindInMap',
  'GetAZs',
  'ImportValue',
  'Join',
  'Select',
  'Split',
  'Sub',
  'Transform',
  'And',
  'Equals',
  'If',
  'Not',
  'Or',
];

function intrinsicName(tag: string): string | undefined {
  const name = tag.slice(1);
  if (name === 'Ref' || name === 'Condition') return name;
  if (name === 'GetAtt' || CFN_FUNCTIONS.includes(name)) return `Fn::${name}`;
  return undefined;
}

/** Parses YAML, turning `!Ref`, `!GetAtt`, `!Join`, `!Sub`, ... (scalar and sequence forms) into their JSON form. */
export function parseCloudFormationYaml(text: string, source: string): Resolved {
  const doc = YAML.parseDocument(text, { merge: true });
  if (doc.errors.length > 0)
    throw new ServerlessConfigError(`${source}: ${doc.errors[0]?.message}`, { details: { file: source } });
  YAML.visit(doc, {
    Scalar(_, node) {
      if (!node.tag?.startsWith('!')) return undefined;
      const name = intrinsicName(node.tag);
      if (!name)
        throw new ServerlessConfigError(`${source}: unknown tag ${node.tag}`, { details: { file: source } });
      const value = String(node.value);
      if (name === 'Fn::GetAtt') {
        const dot = value.indexOf('.');
        return doc.createNode({ [name]: [value.slice(0, dot), value.slice(dot + 1)] });
      }
      return doc.createNode({ [name]: value });
    },
    Collection(_, node) {
      if (!node.tag?.startsWith('!')) return undefined;
      const name = intrinsicName(node.tag);
      if (!name)
        throw new ServerlessConfigError(`${source}: unknown tag ${node.tag}`, { details: { file: source } });
      // Keep the collection node itself (so tags nested in it are still visited), wrapped in { Fn::X: ... }.
      node.tag = undefined;
      const wrapper = doc.createNode({});
      wrapper.add(doc.createPair(name, node));
      return wrapper;
    },
  });
  return doc.toJS({ maxAliasCount: -1 }) as Resolved;
}

// ---------------------------------------------------------------------------------------------------------------
// Pass 1: Serverless variables

const VARIABLE_SOURCE = /^\s*(self|sls|opt|env|aws|file|strToBool)\s*[:(]/;
const MAX_DEPTH = 64;

function isMap(value: Resolved | undefined): value is ResolvedMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Index of the `}` closing the `${` at `start`, counting nested `${ }` and quotes. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if ((char === "'" || char === '"') && depth > 0) {
      quote = char;
    } else if (char === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (char === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Splits `a, 'b, c', ${d, e}` on the commas that are outside quotes, parentheses and nested variables. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === '(' || char === '{') depth++;
    else if (char === ')' || char === '}') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current.trim());
  return parts;
}

class VariableResolver {
  private readonly fileCache = new Map<string, Resolved>();
  private readonly selfCache = new Map<string, Resolved | undefined>();
  private readonly rawRoot: Resolved;
  readonly region: string;

  constructor(
    rawRoot: Resolved,
    private readonly opts: Required<Pick<LoadServerlessOptions, 'stage' | 'env'>> & {
      region?: string;
      dir: string;
    },
  ) {
    this.rawRoot = rawRoot;
    const provider = isMap(rawRoot) ? rawRoot.provider : undefined;
    const declared = isMap(provider) ? provider.region : undefined;
    this.region =
      opts.region ??
      (typeof declared === 'string' ? String(this.resolveTree(declared, 'provider.region', 0)) : 'us-east-1');
  }

  resolveTree(value: Resolved, path: string, depth: number): Resolved {
    if (depth > MAX_DEPTH)
      throw new ServerlessConfigError(`variables nest too deep at ${path} (a cycle?)`, { details: { path } });
    if (typeof value === 'string') return this.resolveString(value, path, depth);
    if (Array.isArray(value)) return value.map((item, i) => this.resolveTree(item, `${path}.${i}`, depth));
    if (isMap(value)) {
      const out: ResolvedMap = {};
      for (const [key, item] of Object.entries(value))
        out[key] = this.resolveTree(item, `${path}.${key}`, depth);
      return out;
    }
    return value;
  }

  private resolveString(text: string, path: string, depth: number): Resolved {
    let out = '';
    let cursor = 0;
    while (cursor < text.length) {
      const start = text.indexOf('${', cursor);
      if (start < 0) break;
      const end = closingBrace(text, start);
      const inner = end < 0 ? '' : text.slice(start + 2, end);
      if (end < 0 || !VARIABLE_SOURCE.test(inner)) {
        // Not a Serverless variable (`${AWS::Region}` or `${Name}` in a !Sub belong to CloudFormation).
        out += text.slice(cursor, start + 2);
        cursor = start + 2;
        continue;
      }
      const value = this.evaluate(inner, path, depth + 1);
      if (start === 0 && end === text.length - 1) return value;
      out += text.slice(cursor, start) + (typeof value === 'object' ? JSON.stringify(value) : String(value));
      cursor = end + 1;
    }
    return out + text.slice(cursor);
  }

  /** `source:address, fallback, ...`: the first part that resolves to something other than undefined/null. */
  private evaluate(expression: string, path: string, depth: number): Resolved {
    const [primary = '', ...fallbacks] = splitTopLevel(expression);
    const value = this.lookup(String(this.resolveString(primary, path, depth)), path, depth);
    if (value !== undefined && value !== null) return value;
    for (const fallback of fallbacks) {
      const candidate = this.literal(fallback, path, depth);
      if (candidate !== undefined && candidate !== null) return candidate;
    }
    throw new ServerlessConfigError(`${path}: cannot resolve \${${expression}}`, {
      details: { path, expression },
    });
  }

  private literal(text: string, path: string, depth: number): Resolved | undefined {
    const quoted = /^(['"])(.*)\1$/s.exec(text);
    if (quoted) return quoted[2] ?? '';
    if (text.startsWith('${')) {
      try {
        return this.resolveString(text, path, depth);
      } catch (error) {
        if (error instanceof ServerlessConfigError) return undefined;
        throw error;
      }
    }
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    if (text === 'null') return null;
    return text;
  }

  private lookup(variable: string, path: string, depth: number): Resolved | undefined {
    const file = /^\s*file\((.+?)\)\s*(?::(.*))?$/.exec(variable);
    if (file) return this.fromFile(String(file[1]).trim(), (file[2] ?? '').trim(), path, depth);
    const boolean = /^\s*strToBool\((.+?)\)\s*$/.exec(variable);
    if (boolean) return ['true', '1'].includes(String(boolean[1]).trim());
    const match = /^\s*(\w+):(.*)$/.exec(variable);
    if (!match)
      throw new ServerlessConfigError(`${path}: malformed variable \${${variable}}`, { details: { path } });
    const [, source, rawAddress] = match;
    const address = String(rawAddress).trim();
    switch (source) {
      case 'self':
        return this.fromSelf(address, path, depth);
      case 'sls':
        if (address === 'stage') return this.opts.stage;
        break;
      case 'opt':
        if (address === 'stage') return this.opts.stage;
        if (address === 'region') return this.opts.region;
        return undefined;
      case 'env':
        return this.opts.env[address];
      case 'aws':
        if (address === 'region') return this.region;
        if (address === 'accountId') return LOCAL_ACCOUNT_ID;
        break;
    }
    throw new ServerlessConfigError(`${path}: the local stack does not know \${${variable}}`, {
      details: { path, variable },
    });
  }

  private fromSelf(address: string, path: string, depth: number): Resolved | undefined {
    if (this.selfCache.has(address)) return this.selfCache.get(address);
    let node: Resolved | undefined = this.rawRoot;
    for (const key of address === '' ? [] : address.split('.')) {
      if (Array.isArray(node)) node = node[Number(key)];
      else if (isMap(node)) node = node[key];
      else node = undefined;
      // A `${...}` on the way (e.g. `${file(...)}` holding the rest of the path) must be resolved to walk on.
      if (typeof node === 'string' && node.includes('${'))
        node = this.resolveTree(node, `self:${address}`, depth);
    }
    const value = node === undefined ? undefined : this.resolveTree(node, `self:${address}`, depth);
    this.selfCache.set(address, value);
    return value;
  }

  private fromFile(relative: string, address: string, path: string, depth: number): Resolved | undefined {
    const file = resolve(this.opts.dir, relative);
    let content = this.fileCache.get(file);
    if (content === undefined) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new ServerlessConfigError(`${path}: cannot read ${relative} (resolved to ${file})`, {
          cause: error,
          details: { path, file },
        });
      }
      const raw =
        extname(file) === '.json' ? (JSON.parse(text) as Resolved) : parseCloudFormationYaml(text, file);
      content = this.resolveTree(raw, `file(${relative})`, depth);
      this.fileCache.set(file, content);
    }
    let node: Resolved | undefined = content;
    for (const key of address === '' ? [] : address.split('.')) node = isMap(node) ? node[key] : undefined;
    return node;
  }
}

/** Reads serverless.yml and resolves its Serverless variables (pass 1). */
export function loadServerlessDocument(opts: LoadServerlessOptions): ServerlessDocument {
  const file = resolve(opts.serverlessFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ServerlessConfigError(`cannot read ${file}`, { cause: error, details: { file } });
  }
  const raw = parseCloudFormationYaml(text, file);
  if (!isMap(raw)) throw new ServerlessConfigError(`${file} is not a YAML map`, { details: { file } });
  const dir = dirname(file);
  const resolver = new VariableResolver(raw, {
    stage: opts.stage,
    region: opts.region,
    env: opts.env ?? process.env,
    dir,
  });
  const root = resolver.resolveTree(raw, '', 0) as ResolvedMap;
  return { file, dir, stage: opts.stage, region: resolver.region, root };
}

// ---------------------------------------------------------------------------------------------------------------
// Pass 2: CloudFormation intrinsics against the local resources

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

const TABLE = 'AWS::DynamoDB::Table';
const QUEUE = 'AWS::SQS::Queue';

/** The physical name of a table or queue: its declared name, else `<stack>-<logicalId>` as CloudFormation would. */
export function physicalName(logicalId: string, resource: CfnResource, stackName: string): string {
  const declared = resource.Type === TABLE ? resource.Properties.TableName : resource.Properties.QueueName;
  return typeof declared === 'string' ? declared : `${stackName}-${logicalId}`;
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
  return resource.Type === TABLE ? physical : name;
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

// ---------------------------------------------------------------------------------------------------------------
// What the stack serves

export interface FunctionDef {
  name: string;
  /** `functions/state.handler`: module path (relative to the service dir, no extension) and export. */
  handler: string;
  /** Seconds before the platform would stop it. */
  timeoutSeconds: number;
}

export interface HttpRouteDef {
  functionName: string;
  /** Upper-case method, or ANY. */
  method: string;
  /** `/v1/objects/{objectId}`; `$default` for the catch-all route. */
  path: string;
  /** As API Gateway writes it: `POST /v1/objects`, `ANY /x`, `$default`. */
  routeKey: string;
  authorizer?: string;
}

export interface HttpAuthorizerDef {
  name: string;
  functionName: string;
  /** `$request.header.Authorization`, `$request.querystring.token`, ... */
  identitySource: string[];
  resultTtlInSeconds: number;
  enableSimpleResponses: boolean;
}

export interface SqsTriggerDef {
  functionName: string;
  /** Unresolved: an ARN string or a `Fn::GetAtt` (resolved once the queues exist). */
  arn: Resolved;
  batchSize: number;
  /** `maximumBatchingWindow`, in seconds: how long Lambda gathers records before invoking. @default 0 */
  maximumBatchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
}

export interface ScheduleDef {
  functionName: string;
  /** `rate(1 minute)` / `cron(...)`: informative only, locally every schedule runs at the stack's interval. */
  expression: string;
  enabled: boolean;
  /** A constant event to pass instead of the scheduled event. */
  input?: Resolved;
}

export interface ServiceDescription {
  document: ServerlessDocument;
  service: string;
  /** `<service>-<stage>`, the CloudFormation stack name. */
  stackName: string;
  /** provider.environment, still with intrinsics. */
  environment: ResolvedMap;
  functions: Record<string, FunctionDef>;
  routes: HttpRouteDef[];
  authorizers: Record<string, HttpAuthorizerDef>;
  sqsTriggers: SqsTriggerDef[];
  schedules: ScheduleDef[];
  /** Merged `resources:` (one map or a list of `{Resources}` documents). */
  resources: Record<string, CfnResource>;
}

function asMap(value: Resolved | undefined): ResolvedMap {
  return isMap(value) ? value : {};
}

function mergeResources(value: Resolved | undefined): Record<string, CfnResource> {
  const merged: Record<string, CfnResource> = {};
  for (const part of Array.isArray(value) ? value : [value ?? {}]) {
    for (const [id, resource] of Object.entries(asMap(asMap(part).Resources))) {
      const map = asMap(resource);
      merged[id] = { Type: String(map.Type), Properties: asMap(map.Properties) };
    }
  }
  return merged;
}

function httpRoute(functionName: string, spec: Resolved, path: string): HttpRouteDef {
  if (spec === '*') return { functionName, method: 'ANY', path: '$default', routeKey: '$default' };
  if (typeof spec === 'string') {
    const [method = '', routePath = ''] = spec.trim().split(/\s+/);
    return httpRoute(functionName, { method, path: routePath }, path);
  }
  const map = asMap(spec);
  if (typeof map.path !== 'string' && map.path !== undefined)
    throw new ServerlessConfigError(`${path}: httpApi path must be a string`, { details: { path } });
  if (map.path === undefined || map.path === '*') return httpRoute(functionName, '*', path);
  const method = String(map.method ?? 'ANY').toUpperCase();
  const routeMethod = method === '*' ? 'ANY' : method;
  const authorizer = map.authorizer;
  const authorizerName = typeof authorizer === 'string' ? authorizer : asMap(authorizer).name;
  return {
    functionName,
    method: routeMethod,
    path: map.path,
    routeKey: `${routeMethod} ${map.path}`,
    ...(typeof authorizerName === 'string' ? { authorizer: authorizerName } : {}),
  };
}

/** Reads routes, authorizers, triggers, schedules and resources out of a resolved document. */
export function describeService(document: ServerlessDocument): ServiceDescription {
  const { root } = document;
  const service = String(isMap(root.service) ? root.service.name : root.service);
  const provider = asMap(root.provider);
  const providerTimeout = Number(provider.timeout ?? 6);
  const functions: Record<string, FunctionDef> = {};
  const routes: HttpRouteDef[] = [];
  const sqsTriggers: SqsTriggerDef[] = [];
  const schedules: ScheduleDef[] = [];
  for (const [name, raw] of Object.entries(asMap(root.functions))) {
    const fn = asMap(raw);
    if (typeof fn.handler !== 'string')
      throw new ServerlessConfigError(`functions.${name}: no handler`, { details: { function: name } });
    functions[name] = { name, handler: fn.handler, timeoutSeconds: Number(fn.timeout ?? providerTimeout) };
    const events = Array.isArray(fn.events) ? fn.events : [];
    events.forEach((event, i) => {
      const path = `functions.${name}.events.${i}`;
      const map = asMap(event);
      if (map.httpApi !== undefined) routes.push(httpRoute(name, map.httpApi, path));
      if (map.sqs !== undefined) {
        const sqs = typeof map.sqs === 'string' ? { arn: map.sqs } : asMap(map.sqs);
        const windowSeconds = Number(sqs.maximumBatchingWindow ?? 0);
        sqsTriggers.push({
          functionName: name,
          arn: sqs.arn ?? null,
          // As on AWS: up to 10 records without a batching window, up to 10,000 with one.
          batchSize: Math.min(Number(sqs.batchSize ?? 10), windowSeconds > 0 ? 10_000 : 10),
          maximumBatchingWindowSeconds: windowSeconds,
          reportBatchItemFailures: sqs.functionResponseType === 'ReportBatchItemFailures',
          enabled: sqs.enabled !== false,
        });
      }
      if (map.schedule !== undefined) {
        const schedule = typeof map.schedule === 'string' ? { rate: map.schedule } : asMap(map.schedule);
        const rate = Array.isArray(schedule.rate)
          ? schedule.rate.map(String).join(', ')
          : String(schedule.rate);
        schedules.push({
          functionName: name,
          expression: rate,
          enabled: schedule.enabled !== false,
          ...(schedule.input !== undefined ? { input: schedule.input } : {}),
        });
      }
    });
  }
  const authorizers: Record<string, HttpAuthorizerDef> = {};
  for (const [name, raw] of Object.entries(asMap(asMap(provider.httpApi).authorizers))) {
    const spec = asMap(raw);
    if (spec.type !== 'request' || typeof spec.functionName !== 'string')
      throw new ServerlessConfigError(
        `provider.httpApi.authorizers.${name}: the local stack serves only 'request' authorizers with a functionName`,
        { details: { authorizer: name } },
      );
    const sources = Array.isArray(spec.identitySource) ? spec.identitySource : [spec.identitySource ?? ''];
    authorizers[name] = {
      name,
      functionName: spec.functionName,
      identitySource: sources.flatMap((source) => String(source).split(',')).map((source) => source.trim()),
      resultTtlInSeconds: Number(spec.resultTtlInSeconds ?? 300),
      enableSimpleResponses: spec.enableSimpleResponses === true,
    };
  }
  for (const route of routes) {
    if (route.authorizer !== undefined && !authorizers[route.authorizer])
      throw new ServerlessConfigError(
        `route ${route.routeKey} names an unknown authorizer ${route.authorizer}`,
        {
          details: { route: route.routeKey },
        },
      );
  }
  return {
    document,
    service,
    stackName: `${service}-${document.stage}`,
    environment: asMap(provider.environment),
    functions,
    routes,
    authorizers,
    sqsTriggers,
    schedules,
    resources: mergeResources(root.resources),
  };
}
