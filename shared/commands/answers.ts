// The commands API's answers as schemas: what the OpenAPI document and its conformance test describe (their types are in wire.ts).
import * as v from 'valibot';
import { integer } from '../schema.ts';
import { logObjectUpload } from '../logs/wire.ts';
import { COMMAND_STATUS } from './types.ts';
import { commandId, commandUpdate } from './wire.ts';
import { commandFailure, commandStatus, isoTime, results } from './wireValues.ts';

/** The answer to POST /v1/commands (202). */
export const startCommandResponse = v.object({ commandId });

/** The answer to POST .../updates (and the body of its 409): every seq ≤ acked is stored. */
export const updatesResponse = v.object({
  acked: integer(-1),
  /** Present once the command has been interrupted: the worker stops the process and completes. */
  interrupt: v.optional(v.object({ why: v.string() })),
  /** The request's log object is not in S3 yet: nothing was stored; PUT it there, then send again. */
  upload: v.optional(logObjectUpload),
});

/** The answer to POST .../complete: how the command ended (the same on a repeated call). */
export const completeResponse = v.object({
  commandId,
  status: v.literal(COMMAND_STATUS.complete),
  results,
  rc: v.nullable(integer()),
  failure: v.nullable(commandFailure),
});

/** The answer to POST .../interrupt; `interrupted` is false when the command had finished first. */
export const interruptResponse = v.object({ commandId, status: commandStatus, interrupted: v.boolean() });

export const workerHeartbeatResponse = v.object({
  queueUrl: v.string(),
  /** How often the worker should call heartbeat while idle, in milliseconds. */
  heartbeatIntervalMs: integer(1),
  /** Present when the worker asked for credentials and the service vends them (docs/security.md). */
  queueAccess: v.optional(
    v.object({
      region: v.string(),
      endpoint: v.optional(v.string()),
      credentials: v.object({
        accessKeyId: v.string(),
        secretAccessKey: v.string(),
        sessionToken: v.string(),
        expiration: v.string(),
      }),
    }),
  ),
});

/** The answer to a worker's claim (POST .../start). */
export const claimResponse = v.object({
  commandId,
  command: v.string(),
  args: v.record(v.string(), v.unknown()),
  heartbeatTimeout: v.number(),
});

/** A command as GET /v1/commands/{id} shows it. */
export const commandView = v.object({
  commandId,
  worker: v.string(),
  command: v.string(),
  args: v.record(v.string(), v.unknown()),
  status: commandStatus,
  decodeRC: v.record(v.string(), v.number()),
  createdAt: isoTime,
  startedAt: v.optional(isoTime),
  completedAt: v.optional(isoTime),
  /** Highest contiguous update seq stored; -1 before any. */
  acked: integer(-1),
  rc: v.optional(v.number()),
  elapsed: v.optional(v.number()),
  failure_reason: v.optional(v.string()),
  results: v.optional(results),
  failure: v.optional(commandFailure),
  interrupted: v.optional(v.object({ why: v.string(), at: isoTime })),
  /** The names of the secrets it was started with; their values are never stored. */
  secretNames: v.optional(v.array(v.string())),
});

/** GET /v1/commands: a page of a worker's commands, newest first; `next` is the cursor of the next page. */
export const commandList = v.object({ commands: v.array(commandView), next: v.optional(v.string()) });

/**
 * GET /v1/commands/{id}/logs/{name}/links: the page of GET .../logs/{name} as pieces in order, each either
 * its text or a link: bytes start..end (exclusive) of the object at `url`, a presigned GET the client asks
 * with `Range: bytes=start-(end-1)` (valid LIMITS.artifactDownloadUrlSeconds). `nextSeq`, `status` and
 * `complete` are the x-bbs-* headers of the text form.
 */
export const logLinksPage = v.object({
  nextSeq: integer(-1),
  status: commandStatus,
  complete: v.boolean(),
  /** 'text': the page ended before more text than it carries; read on from nextSeq with GET .../logs/{name}?links=1. */
  next: v.optional(v.picklist(['text'])),
  pieces: v.array(
    v.union([
      v.object({ text: v.string() }),
      v.object({ url: v.string(), start: integer(0), end: integer(0) }),
    ]),
  ),
});

/** GET /v1/commands/{id}/updates: acknowledged updates after `after`; `next` (as `after`) reads on. */
export const updatesPage = v.object({
  updates: v.array(v.strictTuple([commandUpdate, integer(0)])),
  acked: integer(-1),
  status: commandStatus,
  next: v.optional(integer(-1)),
});
