// Reads the worker queue's message bodies with the wire's own schema.
import { workerMessage } from '../shared/commands/messages.ts';
import type { WorkerMessage } from '../shared/commands/wire.ts';
import { parseMessage } from '../shared/schema.ts';

/**
 * Reads a queue message body as a WorkerMessage, or returns undefined for anything else (the worker
 * logs and deletes such a message: it can never become readable by waiting).
 */
export function parseWorkerMessage(body: string | undefined): WorkerMessage | undefined {
  return parseMessage(workerMessage, body);
}
