// The service model the stack serves: functions, HTTP routes, authorizers, SQS triggers, schedules, resources.
import { ServerlessConfigError } from '../errors.ts';
import type { CfnResource } from './intrinsics.ts';
import type { ServerlessDocument } from './variables.ts';
import { isMap } from './yaml.ts';
import type { Resolved, ResolvedMap } from './yaml.ts';

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
