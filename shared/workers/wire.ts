// The worker registry's answers on the wire (POST /v1/workers, GET /v1/workers[/{name}]), as schemas for the OpenAPI document.
import * as v from 'valibot';
import * as LIMITS from '../limits.ts';
import { fields, integer, parse, text } from '../schema.ts';
import type { Infer } from '../schema.ts';
import { PRESENCE } from './types.ts';

/**
 * The TypeScript shapes are WorkerView and RegisteredWorker in types.ts; test/openapi/types.test.ts holds
 * them equal to these schemas, and the conformance test holds real answers to them.
 */
export const registeredWorker = v.object({
  name: v.string(),
  /** Shown once; only its hash is stored. */
  token: v.string(),
  queueUrl: v.string(),
});

const infoMap = v.record(v.string(), v.string());

/** WorkerInfo in types.ts: what the worker last reported of itself (Buildbot's getWorkerInfo, less the environment). */
export const workerInfo = v.object({
  system: v.string(),
  platform: v.string(),
  numcpus: integer(1),
  basedir: v.string(),
  version: v.string(),
  commandVersions: infoMap,
  files: infoMap,
  osRelease: infoMap,
});

export const workerView = v.object({
  name: v.string(),
  queueUrl: v.string(),
  presence: v.picklist(Object.values(PRESENCE)),
  createdAt: v.string(),
  lastSeenAt: v.nullable(v.string()),
  commands: v.array(v.string()),
  concurrency: v.nullable(integer(1)),
  running: v.nullable(integer(0)),
  version: v.nullable(v.string()),
  info: v.nullable(workerInfo),
  heartbeatIntervalMs: integer(1),
  offlineAfterMs: integer(1),
});

/** GET /v1/workers?limit=&cursor= (admin or client; list.ts). */
export const listWorkersQuery = fields({
  limit: v.optional(integer(1, LIMITS.listPageCommands)),
  cursor: v.optional(text({ minLength: 1, maxLength: LIMITS.listCursorLength })),
});

/** The query as it arrives (text), with `limit` read as a number. */
export function parseListWorkersQuery(
  query: Record<string, string | undefined>,
): Infer<typeof listWorkersQuery> {
  const typed: Record<string, unknown> = { ...query };
  if (query.limit !== undefined) typed.limit = query.limit.trim() === '' ? query.limit : Number(query.limit);
  return parse(listWorkersQuery, typed);
}

/** WorkerSummary in list.ts: GET /v1/workers/{name}'s view less the registry, the info and the queue. */
export const workerSummary = v.object({
  name: v.string(),
  presence: v.picklist(Object.values(PRESENCE)),
  createdAt: v.string(),
  lastSeenAt: v.nullable(v.string()),
  concurrency: v.nullable(integer(1)),
  running: v.nullable(integer(0)),
  version: v.nullable(v.string()),
});

/** WorkerList in list.ts: a page, oldest registration first; `next` is the cursor of the page after. */
export const workerList = v.object({
  workers: v.array(workerSummary),
  next: v.optional(v.string()),
});
