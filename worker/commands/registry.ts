// The registry of named worker commands, and the default one (Buildbot's names).
import { globCommand, listdirCommand, mkdirCommand, rmfileCommand, statCommand } from './fs.ts';
import { cpdirCommand, rmdirCommand } from './fsTree.ts';
import { shellCommand } from './shell.ts';
import {
  downloadFileCommand,
  downloadFileSnakeCommand,
  uploadFileCommand,
  uploadFileSnakeCommand,
} from './transfer.ts';
import { uploadDirectoryCommand, uploadDirectorySnakeCommand } from './transferDirectory.ts';
import type { WorkerCommand } from './types.ts';

/** The commands this worker runs, by Buildbot's names. The worker reports the names in its heartbeats. */
export type CommandRegistry = ReadonlyMap<string, WorkerCommand>;

export function defaultRegistry(): CommandRegistry {
  const commands = [
    shellCommand,
    mkdirCommand,
    rmdirCommand,
    cpdirCommand,
    statCommand,
    globCommand,
    listdirCommand,
    rmfileCommand,
    // Buildbot ≥ 3 sends the transfers under snake_case names; both are registered.
    uploadFileCommand,
    uploadFileSnakeCommand,
    downloadFileCommand,
    downloadFileSnakeCommand,
    uploadDirectoryCommand,
    uploadDirectorySnakeCommand,
  ];
  return new Map(commands.map((command) => [command.name, command]));
}
