// The HTTP API's Lambda request authorizer: identity sources, the cached decision, simple and IAM policy answers.
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { AuthorizerResponseError } from '../errors.ts';
import type { FunctionRunner } from '../handlers.ts';
import { LOCAL_ACCOUNT_ID } from '../serverless/intrinsics.ts';
import type { HttpAuthorizerDef } from '../serverless/service.ts';

type AuthorizerContextValue = Record<string, unknown>;

export interface CachedDecision {
  authorized: boolean;
  context: AuthorizerContextValue;
  expiresAt: number;
}

export class Authorizers {
  private readonly cache = new Map<string, CachedDecision>();

  constructor(
    private readonly defs: Record<string, HttpAuthorizerDef>,
    private readonly runner: FunctionRunner,
  ) {}

  /** The identity values, or undefined when one is missing (API Gateway answers 401 without calling the function). */
  identity(def: HttpAuthorizerDef, event: APIGatewayProxyEventV2): string[] | undefined {
    const values: string[] = [];
    for (const source of def.identitySource) {
      const header = /^\$request\.header\.(.+)$/i.exec(source);
      const query = /^\$request\.querystring\.(.+)$/i.exec(source);
      const value = header
        ? event.headers[(header[1] as string).toLowerCase()]
        : query
          ? event.queryStringParameters?.[query[1] as string]
          : undefined;
      if (value === undefined || value === '') return undefined;
      values.push(value);
    }
    return values;
  }

  /** Runs (or recalls) the authorizer; a throw propagates (the gateway answers 500). */
  async decide(name: string, event: APIGatewayProxyEventV2, identity: string[]): Promise<CachedDecision> {
    const def = this.defs[name] as HttpAuthorizerDef;
    const key = `${name}\u0000${identity.join('\u0000')}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached;
    const request: APIGatewayRequestAuthorizerEventV2 = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:us-east-1:${LOCAL_ACCOUNT_ID}:local/$default/${event.routeKey.replace(' ', '')}`,
      identitySource: identity,
      routeKey: event.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      headers: event.headers,
      requestContext: event.requestContext,
      cookies: event.cookies ?? [],
      ...(event.queryStringParameters ? { queryStringParameters: event.queryStringParameters } : {}),
      ...(event.pathParameters ? { pathParameters: event.pathParameters } : {}),
    };
    const result = (await this.runner.invoke(def.functionName, request)) as
      Record<string, unknown> | undefined;
    const decision = def.enableSimpleResponses ? simpleDecision(result) : policyDecision(result);
    const ttl = def.resultTtlInSeconds * 1000;
    if (ttl > 0) this.cache.set(key, { ...decision, expiresAt: Date.now() + ttl });
    return { ...decision, expiresAt: 0 };
  }
}

function simpleDecision(result: Record<string, unknown> | undefined): Omit<CachedDecision, 'expiresAt'> {
  if (typeof result?.isAuthorized !== 'boolean')
    throw new AuthorizerResponseError('authorizer response has no boolean isAuthorized');
  return { authorized: result.isAuthorized, context: (result.context ?? {}) as AuthorizerContextValue };
}

/** IAM policy responses: authorized when a statement allows execute-api:Invoke and none denies it. */
function policyDecision(result: Record<string, unknown> | undefined): Omit<CachedDecision, 'expiresAt'> {
  const statements = (result?.policyDocument as { Statement?: { Effect?: string }[] } | undefined)?.Statement;
  if (!Array.isArray(statements))
    throw new AuthorizerResponseError('authorizer response has no policyDocument');
  const allowed =
    statements.some((statement) => statement.Effect === 'Allow') &&
    !statements.some((statement) => statement.Effect === 'Deny');
  return { authorized: allowed, context: (result?.context ?? {}) as AuthorizerContextValue };
}
