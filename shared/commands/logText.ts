// Owns the text of a command's logs: stdio (header, stdout, stderr in arrival order), each stream alone, and named logfiles.
import type { SequencedUpdate } from './apiTypes.ts';
import type { TextStream } from './textParts.ts';

/** The log Buildbot calls stdio: stdout, stderr and header, in arrival order. */
export const STDIO_LOG = 'stdio';

/**
 * Logs every command has: stdio, and each of its output streams alone (`stdout` is the command's output
 * byte for byte, without the headers). The shell command refuses a logfile of one of these names.
 */
export const STREAM_LOGS = [STDIO_LOG, 'stdout', 'stderr'] as const;

/** Whether a text run's part of `stream` belongs to log `name`. */
export function streamInLog(stream: TextStream, name: string): boolean {
  return name === STDIO_LOG || name === stream;
}

/** The text a run of updates adds to log `name`. */
export function logText(updates: SequencedUpdate[], name: string): string {
  let text = '';
  for (const [update] of updates) {
    if (name === STDIO_LOG) {
      if (update.header !== undefined) text += update.header;
      if (update.stdout !== undefined) text += update.stdout;
      if (update.stderr !== undefined) text += update.stderr;
    } else if (name === 'stdout' || name === 'stderr') {
      text += update[name] ?? '';
    } else if (update.log && update.log[0] === name) {
      text += update.log[1];
    }
  }
  return text;
}
