// Owns the commands API's types that no wire schema defines: the sequenced update and the answers of the read, interrupt and complete routes (type-only, so the client may import it).
import type { CommandFailure, CommandStatus, Results } from './types.ts';
import type { CommandUpdate, CommandView } from './wire.ts';

/** One update and its seq, as POST .../updates takes it and GET .../updates gives it back. */
export type SequencedUpdate = [CommandUpdate, number];

/** GET /v1/commands/{id}/updates?after=: a page of acknowledged updates. */
export interface UpdatesPage {
  updates: SequencedUpdate[];
  acked: number;
  status: CommandStatus;
  /** Present when more updates are stored: pass it as `after` for the next page. */
  next?: number;
}

/** GET /v1/commands/{id}/logs/{name}?after=: a page of a log's text. */
export interface LogPage {
  text: string;
  /** The seq this page read up to: pass it as `after` to continue (the x-bbs-next-seq header). */
  nextSeq: number;
  status: CommandStatus;
  /** True when the log is final: the command is complete and every update was read. */
  complete: boolean;
}

/** GET /v1/commands?worker=: a page of a worker's commands, newest first. */
export interface CommandList {
  commands: CommandView[];
  /** Opaque cursor for the next page, when there is one. */
  next?: string;
}

/** POST /v1/commands/{id}/interrupt. */
export interface InterruptOutcome {
  commandId: string;
  status: CommandStatus;
  /** True when the command was (or already had been) interrupted; false when it had finished first. */
  interrupted: boolean;
}

/** POST /v1/commands/{id}/complete (also to a repeat): the outcome as recorded. */
export interface CompleteOutcome {
  commandId: string;
  status: 'complete';
  results: Results;
  rc: number | null;
  failure: CommandFailure | null;
}
