// Builds the OpenAPI 3.1 document from the route table and the wire schemas (converted to JSON Schema 2020-12 by @valibot/to-json-schema).
import { toJsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema';
import type { ConversionConfig } from '@valibot/to-json-schema';
import { TEXT_BATCH_CONTENT_TYPE } from '../commands/textBatch.ts';
import type { Schema } from '../schema.ts';
import { COMPONENTS } from './routes.ts';
import type { AnswerDoc, ComponentName, RouteDoc } from './routes.ts';
import { ROUTES } from './routes.ts';

export type JsonObject = Record<string, unknown>;

/** The name of the bearer scheme, as serverless.yml names its authorizer. */
export const SECURITY_SCHEME = 'bearerToken';

/**
 * `typeMode: 'output'`: a pipe is described from its last schema on. fields() and keyed() put a
 * plain-object check before the object or record; that check is ours, the object is the shape.
 */
const CONVERSION: ConversionConfig = {
  target: 'draft-2020-12',
  typeMode: 'output',
  overrideRef: ({ referenceId }) => `#/components/schemas/${referenceId}`,
};

const STATUS_TEXT: Record<number, string> = {
  400: 'invalid request (`invalid_request` and others): the message names the field and what was expected',
  401: 'no bearer token, or one that does not resolve (API Gateway answers `{message}`)',
  403: "the token's role may not call this route (API Gateway answers `{message}` when it refuses the token)",
  404: 'the command, worker, state value or log does not exist',
  409: 'the request does not fit the current state; the error code says how (docs/errors.md)',
  413: 'the body or a value is over a documented limit (docs/limits.md)',
  500: 'internal error: logged, and answered `internal_error` alone',
};

const ref = (name: ComponentName): JsonObject => ({ $ref: `#/components/schemas/${name}` });

function inline(schema: Schema): JsonObject {
  const { $schema: _dialect, ...json } = toJsonSchema(schema, CONVERSION) as JsonObject;
  return json;
}

/** The fields of an object schema, or of the object at the end of a fields() pipe. */
function entriesOf(schema: Schema): Record<string, Schema> {
  const parts = 'pipe' in schema ? (schema.pipe as unknown[]) : [schema];
  for (const part of [...parts].reverse())
    if (typeof part === 'object' && part !== null && 'entries' in part)
      return (part as { entries: Record<string, Schema> }).entries;
  throw new TypeError('query schemas must be objects');
}

const isOptional = (schema: Schema): boolean =>
  schema.type === 'optional' || schema.type === 'exact_optional' || schema.type === 'nullish';

function parametersOf(route: RouteDoc): JsonObject[] {
  const path = Object.entries(route.params ?? {}).map(([name, schema]) => ({
    name,
    in: 'path',
    required: true,
    schema: inline(schema),
  }));
  const query = Object.entries(route.query ? entriesOf(route.query) : {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: !isOptional(schema),
    schema: inline(schema),
  }));
  return [...path, ...query];
}

function requestBodyOf(body: NonNullable<RouteDoc['body']>): JsonObject {
  const content: JsonObject = { 'application/json': { schema: ref(body.json) } };
  if (body.textBatch)
    content[TEXT_BATCH_CONTENT_TYPE] = {
      schema: { type: 'string' },
      description: 'the same updates as a text batch (shared/commands/textBatch.ts), which the worker sends',
    };
  return { required: !body.optional, content };
}

function answerOf(answer: AnswerDoc): JsonObject {
  if (answer.json)
    return { description: answer.description, content: { 'application/json': { schema: ref(answer.json) } } };
  if (answer.text)
    return {
      description: answer.description,
      headers: Object.fromEntries(
        Object.entries(answer.text.headers).map(([name, description]) => [
          name,
          {
            description,
            required: !(answer.text!.optional ?? []).includes(name),
            schema: { type: 'string' },
          },
        ]),
      ),
      content: { 'text/plain': { schema: { type: 'string' } } },
    };
  return { description: answer.description };
}

function errorAnswer(status: number): JsonObject {
  const schema =
    status === 401 || status === 403 ? { anyOf: [ref('Error'), ref('GatewayError')] } : ref('Error');
  return { description: STATUS_TEXT[status] ?? 'error', content: { 'application/json': { schema } } };
}

/** `POST /v1/commands/{id}/start` → `postCommandsIdStart`. */
function operationId(route: RouteDoc): string {
  const words = route.path
    .split('/')
    .filter((part) => part !== '' && part !== 'v1')
    .map((part) => part.replace(/[{}]/g, '').replace(/\.json$/, ''));
  return route.method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operationOf(route: RouteDoc): JsonObject {
  const needsToken = route.roles.length > 0;
  const errors = [...new Set([...route.errors, ...(needsToken ? [401, 403] : []), 500])].sort();
  const responses: JsonObject = {};
  for (const [status, answer] of Object.entries(route.answers)) responses[status] = answerOf(answer);
  for (const status of errors) responses[String(status)] = errorAnswer(status);
  const operation: JsonObject = {
    operationId: operationId(route),
    summary: route.summary,
    description: needsToken ? `Bearer token of role: ${route.roles.join(' or ')}.` : 'No token needed.',
    security: needsToken ? [{ [SECURITY_SCHEME]: [] }] : [],
    parameters: parametersOf(route),
    responses,
  };
  if (route.body) operation.requestBody = requestBodyOf(route.body);
  return operation;
}

/** The whole document. Pure and deterministic: functions/openapi.ts builds it once per instance. */
export function buildOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const route of ROUTES) {
    paths[route.path] ??= {};
    paths[route.path]![route.method.toLowerCase()] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'buildbot-serverless',
      version: 'v1',
      description:
        "Buildbot's RemoteCommand and state connector as AWS serverless functions. Every request and " +
        'answer schema here is the one the functions validate with (shared/commands/wire.ts, ' +
        'shared/state/wire.ts); request objects refuse unknown fields.',
    },
    paths,
    components: {
      schemas: toJsonSchemaDefs(COMPONENTS, CONVERSION),
      securitySchemes: {
        [SECURITY_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          description: 'an admin, client or worker token (POST /v1/workers issues worker tokens)',
        },
      },
    },
  };
}
