// Owns the client routes of the HTTP API, one method each, and the followers of a running command.
import { downloadArtifact, uploadBlob } from '../artifacts/calls.ts';
import { COMMAND_STATUS } from '../commands/types.ts';
import type { CommandStatus } from '../commands/types.ts';
import { LOG_HEADERS } from '../commands/wire.ts';
import type { CommandView, StartCommandRequest } from '../commands/wire.ts';
import { ApiError } from './errors.ts';
import { apiRequest } from './http.ts';
import { logText } from '../commands/logText.ts';
import { followWithPush } from './pushFollow.ts';
import { readLogBytes } from './logLinks.ts';
import type { ReadLogOptions } from './logLinks.ts';
import { PushSocket } from './pushSocket.ts';
import type { StatusFrame } from '../push/wire.ts';
import type { ApiConnection } from './http.ts';
import { Backoff, sleep } from '../retry.ts';
import type { PollOptions } from '../retry.ts';
import type {
  CommandList,
  CommandsClientOptions,
  FollowOptions,
  FollowUpdatesOptions,
  InterruptResponse,
  ListCommandsFilter,
  LogPage,
  LogPageBytes,
  RegisteredWorker,
  SequencedUpdate,
  StartCommandResponse,
  UpdatesPage,
  WorkerView,
} from './types.ts';

/**
 * The followers' polling floors. Every follower's poll is a request against the account's API quota (10,000 a
 * second, shared with the workers' updates: docs/operations.md, Throttling), so a follower never polls a quiet
 * command more often than every `quietMs` (PollOptions below it are raised to it), and leaves `afterProgressMs`
 * between pages of a moving one (it polled again at once, a request per page of a chatty command).
 */
export const FOLLOW_FLOORS = {
  /** Shortest wait after a poll that brought nothing new. @default 250 ms */
  quietMs: 250,
  /** Wait after a poll that brought something, before the next. @default 50 ms */
  afterProgressMs: 50,
} as const;

/** The followers' rhythm when no PollOptions are given: 250 ms after a quiet poll, doubling to 1 s. */
export const FOLLOW_POLL_DEFAULT = { minMs: FOLLOW_FLOORS.quietMs, maxMs: 1000 } as const;

/**
 * The client routes of the HTTP API (docs/state.md, docs/commands.md, docs/worker.md), one method each, plus followers that
 * poll a running command until it is complete and everything is read.
 */
export class CommandsClient {
  readonly connection: ApiConnection;
  private readonly poll: PollOptions;
  /** The push socket (docs/client.md, Push), opened on the first follow; undefined with `pushUrl: false`. */
  readonly push: PushSocket | undefined;

  constructor(opts: CommandsClientOptions) {
    this.connection = { apiUrl: opts.apiUrl, token: opts.token };
    const pushUrl = opts.pushUrl === undefined ? defaultPushUrl(opts.apiUrl) : opts.pushUrl;
    this.push = pushUrl === false ? undefined : new PushSocket({ url: pushUrl, token: opts.token });
    const minMs = Math.max(opts.poll?.minMs ?? FOLLOW_POLL_DEFAULT.minMs, FOLLOW_FLOORS.quietMs);
    this.poll = { minMs, maxMs: Math.max(opts.poll?.maxMs ?? FOLLOW_POLL_DEFAULT.maxMs, minMs) };
  }

  /**
   * POST /v1/blobs, then the bytes straight to S3 (presigned parts, a few at a time) and the completion: the
   * blob id a downloadFile's `blob` names. `size` must be exact. Never buffers the whole source.
   */
  uploadBlob(
    source: AsyncIterable<Uint8Array>,
    size: number,
    opts: { signal?: AbortSignal; onProgress?: (bytes: number) => void } = {},
  ): Promise<{ blobId: string; sha256: string }> {
    return uploadBlob(this.connection, source, size, opts);
  }

  /**
   * GET /v1/commands/{id}/artifacts/{name}'s presigned URL, streamed into `destination`; rejects with
   * ChecksumMismatchError when the bytes' size or sha256 differ from what the worker recorded.
   */
  downloadArtifact(
    commandId: string,
    name: string,
    destination: NodeJS.WritableStream,
    opts: { signal?: AbortSignal; onProgress?: (bytes: number, size: number) => void } = {},
  ): Promise<{ size: number; sha256: string }> {
    return downloadArtifact(this.connection, commandId, name, destination, opts);
  }

  /** POST /v1/commands: queues a command for a worker. */
  startCommand(request: StartCommandRequest, opts: FollowOptions = {}): Promise<StartCommandResponse> {
    return apiRequest(this.connection, 'POST', '/v1/commands', { body: request, signal: opts.signal });
  }

  /** GET /v1/commands/{id} */
  getCommand(commandId: string, opts: FollowOptions = {}): Promise<CommandView> {
    return apiRequest(this.connection, 'GET', `/v1/commands/${enc(commandId)}`, { signal: opts.signal });
  }

  /** GET /v1/commands/{id}/updates?after=SEQ: the stored updates with seq > after, in order. */
  getUpdates(commandId: string, after = -1, opts: FollowOptions = {}): Promise<UpdatesPage> {
    return apiRequest(this.connection, 'GET', `/v1/commands/${enc(commandId)}/updates?after=${after}`, {
      signal: opts.signal,
    });
  }

  /**
   * GET /v1/commands/{id}/logs/{name}?after=SEQ: the text that updates after seq `after` add to the log, one
   * page of it (docs/limits.md), with the seq to continue from and whether the log is final (the x-bbs-* headers).
   */
  async getLogPage(commandId: string, name: string, after = -1, opts: FollowOptions = {}): Promise<LogPage> {
    const { body, ...page } = await this.readLogPage(commandId, name, after, opts, 'text');
    return { text: body.toString(), ...page };
  }

  /**
   * The bytes of a log as stored so far, in order, never decoded: the fastest way to save or hash a large log
   * (GET .../logs/{name}/links: log objects come straight from S3, several at once). See logLinks.ts.
   */
  readLogBytes(commandId: string, name: string, opts: ReadLogOptions = {}): AsyncGenerator<Buffer> {
    return readLogBytes(this.connection, commandId, name, opts);
  }

  /** getLogPage with the text as its UTF-8 bytes, never decoded: for a large log that is hashed or saved. */
  async getLogPageBytes(
    commandId: string,
    name: string,
    after = -1,
    opts: FollowOptions = {},
  ): Promise<LogPageBytes> {
    const { body, ...page } = await this.readLogPage(commandId, name, after, opts, 'bytes');
    return { bytes: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), ...page };
  }

  private async readLogPage(
    commandId: string,
    name: string,
    after: number,
    opts: FollowOptions,
    read: 'text' | 'bytes',
  ): Promise<Omit<LogPage, 'text'> & { body: string | Buffer }> {
    let headers: Headers | undefined;
    const body = await apiRequest<string | Buffer>(
      this.connection,
      'GET',
      `/v1/commands/${enc(commandId)}/logs/${enc(name)}?after=${after}`,
      {
        text: read === 'text',
        bytes: read === 'bytes',
        signal: opts.signal,
        onHeaders: (received) => (headers = received),
      },
    );
    const nextSeq = Number(headers?.get(LOG_HEADERS.nextSeq));
    const status = headers?.get(LOG_HEADERS.status);
    if (!Number.isInteger(nextSeq) || !isCommandStatus(status))
      throw new ApiError('GET', `/v1/commands/${commandId}/logs/${name}`, 200, {
        message: `the answer lacks the ${LOG_HEADERS.nextSeq} and ${LOG_HEADERS.status} headers: is this the buildbot-serverless API?`,
      });
    return { body, nextSeq, status, complete: headers?.get(LOG_HEADERS.complete) === 'true' };
  }

  /** The whole text of a log so far (`stdio` is header, stdout and stderr in arrival order), page by page. */
  async getLog(commandId: string, name: string, opts: FollowOptions = {}): Promise<string> {
    let text = '';
    let after = -1;
    for (;;) {
      const page = await this.getLogPage(commandId, name, after, opts);
      text += page.text;
      // A page that did not move on has read everything stored so far.
      if (page.complete || page.nextSeq <= after) return text;
      after = page.nextSeq;
    }
  }

  /** GET /v1/commands?worker=&status=&limit=&cursor=: one page of a worker's commands, newest first. */
  listCommands(filter: ListCommandsFilter, opts: FollowOptions = {}): Promise<CommandList> {
    const query = new URLSearchParams({ worker: filter.worker });
    if (filter.status !== undefined) query.set('status', filter.status);
    if (filter.limit !== undefined) query.set('limit', String(filter.limit));
    if (filter.cursor !== undefined) query.set('cursor', filter.cursor);
    return apiRequest(this.connection, 'GET', `/v1/commands?${query.toString()}`, { signal: opts.signal });
  }

  /** POST /v1/commands/{id}/interrupt: a queued command ends at once; a running one is stopped by its worker. */
  interrupt(commandId: string, why?: string, opts: FollowOptions = {}): Promise<InterruptResponse> {
    return apiRequest(this.connection, 'POST', `/v1/commands/${enc(commandId)}/interrupt`, {
      body: why === undefined ? {} : { why },
      signal: opts.signal,
    });
  }

  /** POST /v1/workers (admin): the token is shown once. */
  registerWorker(name: string, opts: { rotate?: boolean } = {}): Promise<RegisteredWorker> {
    return apiRequest(this.connection, 'POST', '/v1/workers', {
      body: opts.rotate === undefined ? { name } : { name, rotate: opts.rotate },
    });
  }

  /** GET /v1/workers/{name}: presence, registered commands, queue. */
  getWorker(name: string): Promise<WorkerView> {
    return apiRequest(this.connection, 'GET', `/v1/workers/${enc(name)}`);
  }

  /** POST /v1/objects: the id of (name, className), the same from every caller, forever. */
  async getObjectId(name: string, className: string): Promise<number> {
    const { objectId } = await apiRequest<{ objectId: number }>(this.connection, 'POST', '/v1/objects', {
      body: { name, className },
    });
    return objectId;
  }

  /**
   * GET /v1/objects/{objectId}/state/{name}: the stored JSON value. A missing one is ApiError 404, unless a
   * default is passed (even null): the API then answers it (`?default=<JSON>`), as Buildbot's getState does.
   * A default of `undefined` is not JSON, so it is not sent: the 404 becomes undefined here.
   */
  async getState(
    objectId: number,
    name: string,
    ...defaultValue: [defaultValue?: unknown]
  ): Promise<unknown> {
    const path = statePath(objectId, name);
    const fallback = defaultValue[0];
    if (defaultValue.length > 0 && fallback === undefined) {
      try {
        return await this.getState(objectId, name);
      } catch (error) {
        if (error instanceof ApiError && error.apiCode === 'state_not_found') return undefined;
        throw error;
      }
    }
    const query = defaultValue.length > 0 ? `?default=${enc(JSON.stringify(fallback))}` : '';
    const { value } = await apiRequest<{ value: unknown }>(this.connection, 'GET', `${path}${query}`);
    return value;
  }

  /** PUT /v1/objects/{objectId}/state/{name}: returns the value actually stored. */
  async setState(objectId: number, name: string, value: unknown): Promise<unknown> {
    const stored = await apiRequest<{ value: unknown }>(this.connection, 'PUT', statePath(objectId, name), {
      body: { value },
    });
    return stored.value;
  }

  /** POST /v1/objects/{objectId}/state/{name}/create: stores `value` unless one exists; returns the one kept. */
  createState(objectId: number, name: string, value: unknown): Promise<{ value: unknown; created: boolean }> {
    return apiRequest(this.connection, 'POST', `${statePath(objectId, name)}/create`, { body: { value } });
  }

  /**
   * Every stored update with seq > `after`, in seq order, each once, as the command produces them; ends
   * when the command is complete and its last update has been yielded.
   */
  followUpdates(
    commandId: string,
    opts: FollowUpdatesOptions & { onComplete?: (frame: StatusFrame) => void } = {},
  ): AsyncGenerator<SequencedUpdate> {
    const after = opts.after ?? -1;
    if (!this.push) return this.pollUpdates(commandId, after, opts.signal);
    return followWithPush(this, this.push, commandId, { ...opts, after });
  }

  /** followUpdates by polling alone: the fallback when the push socket cannot open or drops. */
  async *pollUpdates(commandId: string, from = -1, signal?: AbortSignal): AsyncGenerator<SequencedUpdate> {
    const backoff = new Backoff(this.poll);
    let after = from;
    const opts = { signal };
    for (;;) {
      const page = await this.getUpdates(commandId, after, { signal: opts.signal });
      for (const sequenced of page.updates) {
        // A page never goes backwards, but a resent answer must not repeat an update.
        if (sequenced[1] <= after) continue;
        yield sequenced;
        after = sequenced[1];
      }
      if (page.status === 'complete' && after >= page.acked) return;
      if (page.updates.length > 0) {
        backoff.reset();
        await sleep(FOLLOW_FLOORS.afterProgressMs, opts.signal);
        continue;
      }
      await backoff.wait(opts.signal);
    }
  }

  /**
   * The text of log `name` as it grows, chunk by chunk, until the command is complete and the whole log
   * has been yielded: the chunks joined are byte for byte what getLog() answers at the end.
   */
  async *followLog(commandId: string, name: string, opts: FollowOptions = {}): AsyncGenerator<string> {
    if (this.push) {
      // Push-first: the log's text is what each update adds to it (the server renders pages the same way).
      for await (const entry of followWithPush(this, this.push, commandId, {
        after: -1,
        signal: opts.signal,
      })) {
        const text = logText([entry], name);
        if (text !== '') yield text;
      }
      return;
    }
    const backoff = new Backoff(this.poll);
    let after = -1;
    for (;;) {
      const page = await this.getLogPage(commandId, name, after, opts);
      if (page.text !== '') yield page.text;
      if (page.complete) return;
      if (page.nextSeq > after) {
        // Pages end on update boundaries, so continuing from nextSeq neither repeats nor skips a byte.
        after = page.nextSeq;
        backoff.reset();
        await sleep(FOLLOW_FLOORS.afterProgressMs, opts.signal);
        continue;
      }
      await backoff.wait(opts.signal);
    }
  }

  /** Closes the push socket (a process that followed commands can also just exit: an idle socket holds nothing). */
  close(): void {
    this.push?.close();
  }
}

/** The local stack's push URL for its API URL: `ws://host:port/v1/push` (on AWS, pass the WebSocket API's URL). */
export function defaultPushUrl(apiUrl: string): string {
  const url = new URL(apiUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/push`;
  return url.toString();
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function isCommandStatus(value: string | null | undefined): value is CommandStatus {
  return value !== null && value !== undefined && Object.hasOwn(COMMAND_STATUS, value);
}

function statePath(objectId: number, name: string): string {
  return `/v1/objects/${objectId}/state/${enc(name)}`;
}
