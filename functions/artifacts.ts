// Lambda for blobs and artifacts: presigned URLs for the bytes (which never pass through here), and their records.
import { requireRole } from '../shared/auth/tokens.ts';
import { ROLES } from '../shared/auth/types.ts';
import type { Principal } from '../shared/auth/types.ts';
import { artifactsContextFromEnv } from '../shared/artifacts/context.ts';
import { blobForCommand, createBlob } from '../shared/artifacts/blobs.ts';
import {
  artifactDownload,
  artifactParts,
  finishArtifact,
  listArtifacts,
  startArtifact,
} from '../shared/artifacts/uploads.ts';
import {
  ARTIFACT_HEADERS,
  artifactName,
  artifactPartsRequest,
  createBlobRequest,
  finishArtifactRequest,
  startArtifactRequest,
} from '../shared/artifacts/wire.ts';
import { commandId } from '../shared/commands/wire.ts';
import { parse } from '../shared/schema.ts';
import * as LIMITS from '../shared/limits.ts';
import type { HttpRequest } from './lib/http.ts';
import { httpRouter } from './lib/http.ts';

/**
 * Client routes: a blob to upload, a command's artifacts and a redirect to one. Worker routes (worker tokens,
 * each for a command sent to its own worker): an artifact's upload, its part URLs and its record, and the blob
 * a downloadFile names. Bodies are small (a finish lists at most LIMITS.artifactMaxParts ETags).
 */
function asClient(request: HttpRequest): void {
  requireRole(request.principal, ROLES.client, ROLES.admin);
}

function callingWorker(principal: Principal): string {
  requireRole(principal, ROLES.worker);
  return principal.worker ?? '';
}

const idOf = (request: HttpRequest): string => parse(commandId, request.params.id ?? '', 'id');
const nameOf = (request: HttpRequest): string => parse(artifactName, request.params.name ?? '', 'name');

export const handler = httpRouter(
  {
    'POST /v1/blobs': async (request) => {
      asClient(request);
      const { size } = parse(createBlobRequest, request.body);
      return { statusCode: 201, body: await createBlob(artifactsContextFromEnv(), size) };
    },

    'GET /v1/commands/{id}/artifacts': async (request) => {
      asClient(request);
      return { statusCode: 200, body: await listArtifacts(artifactsContextFromEnv(), idOf(request)) };
    },

    'GET /v1/commands/{id}/artifacts/{name}': async (request) => {
      asClient(request);
      const { artifact, url } = await artifactDownload(
        artifactsContextFromEnv(),
        idOf(request),
        nameOf(request),
      );
      // ?redirect=false: the same answer as JSON (200), for a browser, whose fetch cannot read a redirect's
      // Location and whose plain links cannot carry the token (the web console, docs/console.md).
      if (request.query.redirect === 'false') {
        const headers: Record<string, string> = { 'cache-control': 'no-store' };
        return { statusCode: 200, headers, body: { ...artifact, url } };
      }
      return {
        statusCode: 302,
        headers: {
          location: url,
          'cache-control': 'no-store',
          [ARTIFACT_HEADERS.sha256]: artifact.sha256,
          [ARTIFACT_HEADERS.size]: String(artifact.size),
        },
        body: { ...artifact, url },
      };
    },

    'POST /v1/commands/{id}/artifacts': async (request) => {
      const worker = callingWorker(request.principal);
      const { name } = parse(startArtifactRequest, request.body);
      return {
        statusCode: 201,
        body: await startArtifact(artifactsContextFromEnv(), worker, idOf(request), name),
      };
    },

    'POST /v1/commands/{id}/artifacts/{name}/parts': async (request) => {
      const worker = callingWorker(request.principal);
      const body = parse(artifactPartsRequest, request.body);
      return {
        statusCode: 200,
        headers: { 'cache-control': 'no-store' },
        body: await artifactParts(artifactsContextFromEnv(), worker, idOf(request), nameOf(request), body),
      };
    },

    'PUT /v1/commands/{id}/artifacts/{name}': async (request) => {
      const worker = callingWorker(request.principal);
      const body = parse(finishArtifactRequest, request.body);
      return {
        statusCode: 200,
        body: await finishArtifact(artifactsContextFromEnv(), worker, idOf(request), nameOf(request), body),
      };
    },

    'GET /v1/commands/{id}/blob': async (request) => {
      const worker = callingWorker(request.principal);
      return {
        statusCode: 200,
        headers: { 'cache-control': 'no-store' },
        body: await blobForCommand(artifactsContextFromEnv(), worker, idOf(request)),
      };
    },
  },
  // A finish's ETag list (10,000 parts of about 60 bytes of JSON each) fits the client limit, 1 MiB.
  { maxBodyBytes: LIMITS.clientBodyBytes },
);
