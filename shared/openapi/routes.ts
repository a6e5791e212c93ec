// Every HTTP route of serverless.yml as the OpenAPI document describes it: who may call, its parameters, body and answers, by wire schema.
import * as v from 'valibot';
import { ROLES } from '../auth/types.ts';
import type { Role } from '../auth/types.ts';
import * as artifacts from '../artifacts/wire.ts';
import * as answers from '../commands/answers.ts';
import * as commands from '../commands/wire.ts';
import { commandFailure } from '../commands/wireValues.ts';
import type { Schema } from '../schema.ts';
import * as state from '../state/wire.ts';
import * as workers from '../workers/wire.ts';

/**
 * The error body of every 4xx and 500 a function answers (shared/errors.ts, docs/errors.md): `code`, the
 * same value as `error`, `message`, and the fields that code declares (hence an open object).
 */
export const errorBody = v.objectWithRest(
  { code: v.string(), error: v.string(), message: v.string() },
  v.unknown(),
);

/** What API Gateway itself answers when the authorizer refuses (401 no token, 403 a token it denies). */
export const gatewayError = v.object({ message: v.string() });

/** The document itself, as GET /v1/openapi.json answers it (the rest is OpenAPI 3.1's own schema). */
export const openApiDocument = v.objectWithRest(
  {
    openapi: v.string(),
    info: v.objectWithRest({ title: v.string(), version: v.string() }, v.unknown()),
    paths: v.record(v.string(), v.unknown()),
  },
  v.unknown(),
);

/** The document's named schemas (components/schemas): every body and answer below is one of these. */
export const COMPONENTS = {
  Error: errorBody,
  GatewayError: gatewayError,
  OpenApiDocument: openApiDocument,
  ObjectIdRequest: state.objectIdRequest,
  ObjectIdResponse: state.objectIdResponse,
  SetStateRequest: state.setStateRequest,
  CreateStateRequest: state.createStateRequest,
  StateValueResponse: state.stateValueResponse,
  CreateStateResponse: state.createStateResponse,
  StartCommandRequest: commands.startCommandRequest,
  StartCommandResponse: answers.startCommandResponse,
  CommandView: answers.commandView,
  CommandList: answers.commandList,
  CommandUpdate: commands.commandUpdate,
  CommandFailure: commandFailure,
  UpdatesPage: answers.updatesPage,
  LogLinksPage: answers.logLinksPage,
  InterruptRequest: commands.interruptRequest,
  ClaimRequest: commands.claimRequest,
  InterruptResponse: answers.interruptResponse,
  ClaimResponse: answers.claimResponse,
  UpdatesRequest: commands.updatesRequest,
  UpdatesResponse: answers.updatesResponse,
  CompleteRequest: commands.completeRequest,
  CompleteResponse: answers.completeResponse,
  WorkerHeartbeatRequest: commands.workerHeartbeatRequest,
  WorkerHeartbeatResponse: answers.workerHeartbeatResponse,
  RegisterWorkerRequest: commands.registerWorkerRequest,
  RegisteredWorker: workers.registeredWorker,
  WorkerView: workers.workerView,
  WorkerList: workers.workerList,
  CreateBlobRequest: artifacts.createBlobRequest,
  CreateBlobResponse: artifacts.createBlobResponse,
  StartArtifactRequest: artifacts.startArtifactRequest,
  StartArtifactResponse: artifacts.startArtifactResponse,
  ArtifactPartsRequest: artifacts.artifactPartsRequest,
  ArtifactPartsResponse: artifacts.artifactPartsResponse,
  FinishArtifactRequest: artifacts.finishArtifactRequest,
  ArtifactView: artifacts.artifactView,
  ArtifactList: artifacts.artifactList,
  ArtifactRedirect: artifacts.artifactRedirect,
  CommandBlobResponse: artifacts.commandBlobResponse,
} satisfies Record<string, Schema>;

export type ComponentName = keyof typeof COMPONENTS;

/** One answer: a JSON body (a component), text (the log route), or nothing (204). */
export interface AnswerDoc {
  description: string;
  json?: ComponentName;
  /** A text/plain answer: its headers, each sent on every answer unless named in `optional`. */
  text?: { headers: Record<string, string>; optional?: string[] };
}

export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As serverless.yml writes it: `/v1/commands/{id}`. */
  path: string;
  summary: string;
  /** Token roles that may call the route; empty: no token at all (the document itself). */
  roles: Role[];
  params?: Record<string, Schema>;
  /** An object schema whose fields are the query parameters. */
  query?: Schema;
  body?: { json: ComponentName; optional?: boolean; textBatch?: boolean };
  answers: Record<number, AnswerDoc>;
  /** Statuses answered with the error body (401 and 403 are added for every route that needs a token). */
  errors: number[];
}

const CLIENT = [ROLES.client, ROLES.admin];
const WORKER = [ROLES.worker];
const ADMIN = [ROLES.admin];

const objectState = { objectId: state.objectIdParam, name: state.stateNameParam };
const command = { id: commands.commandId };
const worker = { name: commands.workerName };

const LOG_TEXT_HEADERS = {
  [commands.LOG_HEADERS.nextSeq]: 'the seq this page read up to: pass it as `after` to read on',
  [commands.LOG_HEADERS.status]: "the command's status when the page was read",
  [commands.LOG_HEADERS.complete]: "'true' once the command is complete and this page reached its end",
  [commands.LOG_HEADERS.next]:
    "'links' (asked with links=1): the page ended before a log object to read with GET .../links from x-bbs-next-seq",
};

export const ROUTES: RouteDoc[] = [
  {
    method: 'POST',
    path: '/v1/objects',
    summary: "The object id of (name, className), allocated on first use (Buildbot's getObjectId)",
    roles: CLIENT,
    body: { json: 'ObjectIdRequest' },
    answers: { 200: { description: 'the id, the same for every caller forever', json: 'ObjectIdResponse' } },
    errors: [400, 413],
  },
  {
    method: 'GET',
    path: '/v1/objects/{objectId}/state/{name}',
    summary: "A stored state value (Buildbot's getState), or `default` when none is stored",
    roles: CLIENT,
    params: objectState,
    query: state.stateDefaultQuery,
    answers: { 200: { description: 'the stored value, or the default', json: 'StateValueResponse' } },
    errors: [400, 404, 413],
  },
  {
    method: 'PUT',
    path: '/v1/objects/{objectId}/state/{name}',
    summary: "Stores a state value (Buildbot's setState)",
    roles: CLIENT,
    params: objectState,
    body: { json: 'SetStateRequest' },
    answers: { 200: { description: 'the value actually stored', json: 'StateValueResponse' } },
    errors: [400, 413],
  },
  {
    method: 'POST',
    path: '/v1/objects/{objectId}/state/{name}/create',
    summary: 'Stores the value unless one exists: created once for the whole cluster (atomicCreateState)',
    roles: CLIENT,
    params: objectState,
    body: { json: 'CreateStateRequest' },
    answers: {
      200: { description: 'a value existed: it is returned, nothing stored', json: 'CreateStateResponse' },
      201: { description: 'this request stored the value', json: 'CreateStateResponse' },
    },
    errors: [400, 413],
  },
  {
    method: 'POST',
    path: '/v1/commands',
    summary: "Starts a command on a worker: recorded, then sent to the worker's queue",
    roles: CLIENT,
    body: { json: 'StartCommandRequest' },
    answers: { 202: { description: 'accepted: the command is queued', json: 'StartCommandResponse' } },
    errors: [400, 404, 409, 413],
  },
  {
    method: 'GET',
    path: '/v1/commands',
    summary: "A worker's commands, newest first, a page at a time",
    roles: CLIENT,
    query: commands.listCommandsQuery,
    answers: { 200: { description: 'a page; `next` is the cursor of the next', json: 'CommandList' } },
    errors: [400],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}',
    summary: 'A command: status, results, failure',
    roles: CLIENT,
    params: command,
    answers: { 200: { description: 'the command', json: 'CommandView' } },
    errors: [404],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/updates',
    summary: "A command's acknowledged updates after `after`",
    roles: CLIENT,
    params: command,
    query: commands.afterQuery,
    answers: { 200: { description: 'a page of updates; `next` (as `after`) reads on', json: 'UpdatesPage' } },
    errors: [400, 404],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/logs/{name}',
    summary: "The text of a command's log after `after` (`stdio`: stdout, stderr and headers)",
    roles: CLIENT,
    params: { ...command, name: v.string() },
    query: commands.logQuery,
    answers: {
      200: {
        description: 'the text of the page',
        text: { headers: LOG_TEXT_HEADERS, optional: [commands.LOG_HEADERS.next] },
      },
    },
    errors: [400, 404],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/logs/{name}/links',
    summary: 'The same page as pieces: text, or links to log objects the client reads from S3 itself',
    roles: CLIENT,
    params: { ...command, name: v.string() },
    query: commands.afterQuery,
    answers: {
      200: { description: 'the page in pieces; `nextSeq` (as `after`) reads on', json: 'LogLinksPage' },
    },
    errors: [400, 404],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/interrupt',
    summary: 'Interrupts a command: a queued one ends at once as CANCELLED, a running one is stopped',
    roles: CLIENT,
    params: command,
    body: { json: 'InterruptRequest', optional: true },
    answers: { 200: { description: 'what the interrupt found', json: 'InterruptResponse' } },
    errors: [400, 404],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/start',
    summary: 'The worker claims a command it received: queued → running',
    roles: WORKER,
    params: command,
    body: { json: 'ClaimRequest', optional: true },
    answers: { 200: { description: 'the command to run', json: 'ClaimResponse' } },
    errors: [404, 409],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/updates',
    summary: 'The worker sends updates `[[update, seq], ...]`; an empty batch is a heartbeat',
    roles: WORKER,
    params: command,
    body: { json: 'UpdatesRequest', textBatch: true },
    answers: { 200: { description: 'every seq ≤ acked is stored', json: 'UpdatesResponse' } },
    errors: [400, 404, 409, 413],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/complete',
    summary: 'The worker ends the command once every update up to lastSeq is stored',
    roles: WORKER,
    params: command,
    body: { json: 'CompleteRequest', textBatch: true },
    answers: { 200: { description: 'how the command ended', json: 'CompleteResponse' } },
    errors: [400, 404, 409, 413],
  },
  {
    method: 'POST',
    path: '/v1/workers/{name}/heartbeat',
    summary: "A worker's presence and command registry",
    roles: WORKER,
    params: worker,
    body: { json: 'WorkerHeartbeatRequest' },
    answers: { 200: { description: 'the queue and heartbeat period', json: 'WorkerHeartbeatResponse' } },
    errors: [400, 404],
  },
  {
    method: 'POST',
    path: '/v1/blobs',
    summary: 'A blob to upload for a downloadFile: presigned part URLs and the URL that completes it',
    roles: CLIENT,
    body: { json: 'CreateBlobRequest' },
    answers: { 201: { description: 'the blob id and its upload', json: 'CreateBlobResponse' } },
    errors: [400, 413],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/artifacts',
    summary: "A command's artifacts: name, size, sha256 (computed on the worker)",
    roles: CLIENT,
    params: command,
    answers: { 200: { description: 'the artifacts', json: 'ArtifactList' } },
    errors: [400, 404],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/artifacts/{name}',
    summary:
      'Redirects to a short-lived presigned GET of the artifact (x-bbs-sha256 and x-bbs-size say what to expect)',
    roles: CLIENT,
    params: { ...command, name: artifacts.artifactName },
    query: v.object({ redirect: v.optional(v.picklist(['false'])) }),
    answers: {
      200: {
        description: 'with ?redirect=false: the same, as JSON (a browser reads `url`)',
        json: 'ArtifactRedirect',
      },
      302: { description: 'Location: the presigned GET', json: 'ArtifactRedirect' },
    },
    errors: [400, 404],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/artifacts',
    summary: "Starts the upload of an artifact of the worker's own running command",
    roles: WORKER,
    params: command,
    body: { json: 'StartArtifactRequest' },
    answers: {
      201: { description: 'the multipart upload and its part size', json: 'StartArtifactResponse' },
    },
    errors: [400, 404, 409],
  },
  {
    method: 'POST',
    path: '/v1/commands/{id}/artifacts/{name}/parts',
    summary: 'Presigned URLs for a page of parts of an artifact upload',
    roles: WORKER,
    params: { ...command, name: artifacts.artifactName },
    body: { json: 'ArtifactPartsRequest' },
    answers: { 200: { description: 'the part URLs', json: 'ArtifactPartsResponse' } },
    errors: [400, 404, 409],
  },
  {
    method: 'PUT',
    path: '/v1/commands/{id}/artifacts/{name}',
    summary: 'Completes an artifact upload and records its size and sha256',
    roles: WORKER,
    params: { ...command, name: artifacts.artifactName },
    body: { json: 'FinishArtifactRequest' },
    answers: { 200: { description: 'the recorded artifact', json: 'ArtifactView' } },
    errors: [400, 404, 409],
  },
  {
    method: 'GET',
    path: '/v1/commands/{id}/blob',
    summary: "The blob the worker's own running downloadFile names, as a presigned GET",
    roles: WORKER,
    params: command,
    answers: { 200: { description: 'the blob and its URL', json: 'CommandBlobResponse' } },
    errors: [400, 404, 409],
  },
  {
    method: 'POST',
    path: '/v1/workers',
    summary: 'Registers a worker (or rotates its token): its token is shown once',
    roles: ADMIN,
    body: { json: 'RegisterWorkerRequest' },
    answers: { 201: { description: 'the worker, its token and queue', json: 'RegisteredWorker' } },
    errors: [400, 409],
  },
  {
    method: 'GET',
    path: '/v1/workers',
    summary: 'The registered workers and their presence, oldest first, a page at a time',
    roles: [ROLES.admin, ROLES.client],
    query: workers.listWorkersQuery,
    answers: { 200: { description: 'a page; `next` is the cursor of the next', json: 'WorkerList' } },
    errors: [400],
  },
  {
    method: 'GET',
    path: '/v1/workers/{name}',
    summary: "A worker's presence, commands and queue (a worker token reads only its own)",
    roles: [ROLES.admin, ROLES.client, ROLES.worker],
    params: worker,
    answers: { 200: { description: 'the worker', json: 'WorkerView' } },
    errors: [400, 404],
  },
  {
    method: 'DELETE',
    path: '/v1/workers/{name}',
    summary: 'Removes a worker and its queue',
    roles: ADMIN,
    params: worker,
    answers: { 204: { description: 'removed' } },
    errors: [400, 404],
  },
  {
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This document (no token needed)',
    roles: [],
    answers: { 200: { description: 'the OpenAPI 3.1 document of this API', json: 'OpenApiDocument' } },
    errors: [],
  },
];
