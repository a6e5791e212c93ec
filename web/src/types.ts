// Owns the console's view of the API's answers (the fields it shows), as docs/commands.md lists them.
import type { CommandStatus, FailureKind, Results } from '../../shared/commands/types.ts';

export interface CommandFailure {
  kind: FailureKind | string;
  message: string;
}

export interface CommandView {
  commandId: string;
  worker: string;
  command: string;
  args: Record<string, unknown>;
  status: CommandStatus;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  acked: number;
  rc?: number;
  elapsed?: number;
  results?: Results;
  failure?: CommandFailure;
  interrupted?: Record<string, unknown>;
  secretNames?: string[];
}

export interface CommandList {
  commands: CommandView[];
  next?: string;
}

/** One update as the worker sent it: {stdout}, {stderr}, {header}, {rc}, {log: [name, text]}, ... */
export type Update = Record<string, unknown>;

export interface UpdatesPage {
  updates: [Update, number][];
  acked: number;
  status: CommandStatus;
  next?: number;
}

export interface WorkerView {
  name: string;
  presence: 'online' | 'offline';
  createdAt: string;
  lastSeenAt: string | null;
  commands: string[];
  concurrency: number | null;
  running: number | null;
  version: string | null;
  info: Record<string, unknown> | null;
  heartbeatIntervalMs: number;
  offlineAfterMs: number;
}

export interface WorkerList {
  workers: WorkerView[];
  next?: string;
}

export interface ArtifactView {
  name: string;
  size: number;
  sha256: string;
  createdAt: string;
}
