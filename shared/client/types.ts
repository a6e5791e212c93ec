/**
 * What the client routes answer, as the client reads them. The wire types the server and the worker share
 * live in shared/commands/wire.ts; these are the shapes only a client needs.
 */
import type { CommandStatus } from '../commands/types.ts';
import type { CommandUpdate, CommandView } from '../commands/wire.ts';
import type { CommandList, InterruptOutcome, LogPage, UpdatesPage } from '../commands/apiTypes.ts';
import type { RegisteredWorker, WorkerView } from '../workers/types.ts';
import type { PollOptions } from '../retry.ts';

export interface CommandsClientOptions {
  /** The API's base URL, e.g. the one `npm start` prints. */
  apiUrl: string;
  /** A bearer token (client role for commands and state, admin for registering workers). */
  token: string;
  /**
   * The polling rhythm of followLog() and followUpdates() while the command is quiet; `minMs` is raised to
   * FOLLOW_FLOORS.quietMs (250 ms) when lower. @default { minMs: 250, maxMs: 1000 }
   */
  poll?: PollOptions;
  /**
   * The push API's WebSocket URL (docs/client.md, Push): followers subscribe there first and poll only when it
   * cannot open or drops. On AWS, the WebSocket API's `wss://…/{stage}` URL; false: poll only.
   * @default the API URL's `ws://host:port/v1/push`, where the local stack serves it
   */
  pushUrl?: string | false;
}

/** One stored update and its seq, as POST .../updates took it and GET .../updates gives it back. */
export type SequencedUpdate = [update: CommandUpdate, seq: number];

export interface StartCommandResponse {
  commandId: string;
}

/** POST /v1/commands/{id}/interrupt: `interrupted` is false when the command had finished first. */
export type InterruptResponse = InterruptOutcome;

/** GET /v1/commands?worker=&status=&limit=&cursor=: a worker's commands, newest first. */
export interface ListCommandsFilter {
  worker: string;
  status?: CommandStatus;
  /** Commands in one page, 1 to 100. @default 50 */
  limit?: number;
  /** The `next` of the previous page. */
  cursor?: string;
}

export interface FollowOptions {
  /** Stops the follower; the iterator then throws the signal's reason. */
  signal?: AbortSignal;
}

export interface FollowUpdatesOptions extends FollowOptions {
  /** Yield updates with seq greater than this. @default -1 (from the first) */
  after?: number;
}

/** A page of a log as its UTF-8 bytes (CommandsClient.getLogPageBytes). */
export interface LogPageBytes extends Omit<LogPage, 'text'> {
  bytes: Buffer;
}

export type { CommandList, CommandUpdate, CommandView, LogPage, RegisteredWorker, UpdatesPage, WorkerView };
