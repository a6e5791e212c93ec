/** GET /v1/openapi.json: the API's OpenAPI 3.1 document, made from the wire schemas at the first request. */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { buildOpenApiDocument } from '../shared/openapi/document.ts';

/**
 * Built once per instance, at the first request rather than at import (about 10 ms: nothing that a
 * cold start should pay for a route that is rarely called). Public, as API documents usually are: it
 * says nothing that calling the API would not; serverless.yml gives the route no authorizer.
 */
let body: string | undefined;

export async function handler(): Promise<APIGatewayProxyStructuredResultV2> {
  body ??= JSON.stringify(buildOpenApiDocument());
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' },
    body,
  };
}
