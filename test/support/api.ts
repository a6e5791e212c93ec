// The one HTTP helper tests call the API with, and the moves most suites make through it.
import { waitFor } from './wait.ts';
import { LOG_HEADERS } from '../../shared/commands/wire.ts';
import type { CommandView } from '../../shared/commands/wire.ts';
import type { ArtifactList } from '../../shared/artifacts/wire.ts';

/** Where the API answers: a StackAddress or a LocalStack will do. */
export interface ApiTarget {
  apiUrl: string;
  tokens: { admin: string; client: string };
}

/** An answer as it came: the status, the body parsed as JSON (`{}` when it is not JSON), its text and headers. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A body sent as it is, for the cases a JSON body cannot make (malformed JSON, compression, binary). */
export interface RawBody {
  body: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * Calls the API as `token` (no authorization header when undefined) and resolves with whatever came back: a test
 * asserts on the status itself, so no status is an error here.
 *
 * Each call has a connection of its own (`connection: close`). A kept-alive socket that sat idle while this process
 * was busy (compressing a large body, on a loaded machine) may already be closed by the gateway's 5 s idle timeout in
 * the shared stack's process, and a request written to it fails with "other side closed".
 */
export function apiCaller(target: Pick<ApiTarget, 'apiUrl'>) {
  return async function call<T = Record<string, unknown>>(
    token: string | undefined,
    method: string,
    path: string,
    body?: unknown,
    raw?: RawBody,
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { connection: 'close', ...(raw?.headers ?? {}) };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let payload: string | Buffer | undefined = raw?.body;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(`${target.apiUrl}${path}`, { method, headers, body: payload });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      parsed = {};
    }
    return { status: response.status, body: parsed as T, text, headers: response.headers };
  };
}

/** The body of an answer that had to have `status`; any other is an error that shows what came back. */
export function expectStatus<T>(answer: Answer<T>, status: number, what: string): T {
  if (answer.status !== status)
    throw new Error(`${what} answered ${answer.status} (expected ${status}): ${answer.text.slice(0, 500)}`);
  return answer.body;
}

let counter = 0;

/** A name no other test process uses on a shared stack: the prefix, this process's pid and a counter. */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}`;
}

export interface RegisteredWorker {
  name: string;
  token: string;
  queueUrl: string;
}

/** Registers a worker under a unique name (admin, `POST /v1/workers`). */
export async function registerWorker(target: ApiTarget, prefix = 'w'): Promise<RegisteredWorker> {
  const answer = await apiCaller(target)<RegisteredWorker>(target.tokens.admin, 'POST', '/v1/workers', {
    name: uniqueName(prefix),
  });
  return expectStatus(answer, 201, 'POST /v1/workers');
}

/** Starts a command as the client (`POST /v1/commands`) and answers its id. */
export async function startCommand(
  target: ApiTarget,
  worker: string,
  command: string,
  args: unknown,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const answer = await apiCaller(target)<{ commandId: string }>(
    target.tokens.client,
    'POST',
    '/v1/commands',
    {
      worker,
      command,
      args,
      ...extra,
    },
  );
  return expectStatus(answer, 202, 'POST /v1/commands').commandId;
}

export async function getCommand(target: ApiTarget, id: string): Promise<CommandView> {
  const answer = await apiCaller(target)<CommandView>(target.tokens.client, 'GET', `/v1/commands/${id}`);
  return expectStatus(answer, 200, `GET /v1/commands/${id}`);
}

/** Polls GET /v1/commands/{id} until `done` holds, for at most timeoutMs. */
export async function waitForCommand(
  target: ApiTarget,
  id: string,
  done: (view: CommandView) => boolean = (view) => view.status === 'complete',
  timeoutMs = 20_000,
): Promise<CommandView> {
  let last: CommandView | undefined;
  try {
    return await waitFor(
      `command ${id}`,
      async () => {
        last = await getCommand(target, id);
        return done(last) && last;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`command ${id} did not get there in ${timeoutMs} ms: ${JSON.stringify(last)}`, {
      cause: error,
    });
  }
}

/** The whole text of a log, following its pages (x-bbs-next-seq) until the last one. */
export async function readLog(target: ApiTarget, id: string, name = 'stdio'): Promise<string> {
  const call = apiCaller(target);
  let text = '';
  let after = -1;
  for (let page = 0; page < 1000; page++) {
    const answer = await call(target.tokens.client, 'GET', `/v1/commands/${id}/logs/${name}?after=${after}`);
    expectStatus(answer, 200, `GET log ${name}`);
    text += answer.text;
    const next = Number(answer.headers.get(LOG_HEADERS.nextSeq));
    if (answer.text === '' || next === after) return text;
    after = next;
  }
  throw new Error(`log ${name} of ${id} has more than 1000 pages`);
}

/** Starts a command on `worker` and waits for its end: its id, its view and its stdio text. */
export async function runToEnd(
  target: ApiTarget,
  worker: string,
  command: string,
  args: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<{ id: string; view: CommandView; log: string }> {
  const id = await startCommand(target, worker, command, args);
  const view = await waitForCommand(target, id, undefined, timeoutMs);
  return { id, view, log: await readLog(target, id) };
}

/** GET /v1/commands/{id}/artifacts as the client: the command's recorded artifacts. */
export async function listArtifacts(target: ApiTarget, id: string): Promise<ArtifactList['artifacts']> {
  const answer = await apiCaller(target)<ArtifactList>(
    target.tokens.client,
    'GET',
    `/v1/commands/${id}/artifacts`,
  );
  return expectStatus(answer, 200, `GET /v1/commands/${id}/artifacts`).artifacts;
}

/** Every update of a command, following `?after=` pages until an empty one. */
export async function readUpdates(
  target: ApiTarget,
  id: string,
): Promise<[Record<string, unknown>, number][]> {
  const call = apiCaller(target);
  const all: [Record<string, unknown>, number][] = [];
  let after = -1;
  for (;;) {
    const answer = await call<{ updates: [Record<string, unknown>, number][] }>(
      target.tokens.client,
      'GET',
      `/v1/commands/${id}/updates?after=${after}`,
    );
    const { updates } = expectStatus(answer, 200, `GET updates of ${id}`);
    if (updates.length === 0) return all;
    all.push(...updates);
    after = updates[updates.length - 1]![1];
  }
}
