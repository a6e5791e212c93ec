import type { WorkerMessage } from '../shared/commands/wire.ts';

/**
 * Reads a queue message body as a WorkerMessage, or returns undefined for anything else (the worker
 * logs and deletes such a message: it can never become readable by waiting).
 */
export function parseWorkerMessage(body: string | undefined): WorkerMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const message = value as Record<string, unknown>;
  if (typeof message.commandId !== 'string' || message.commandId === '') return undefined;
  if (message.type === 'interrupt')
    return {
      type: 'interrupt',
      commandId: message.commandId,
      why: typeof message.why === 'string' ? message.why : '',
    };
  if (
    message.type === 'command' &&
    typeof message.command === 'string' &&
    typeof message.args === 'object' &&
    message.args !== null &&
    !Array.isArray(message.args) &&
    typeof message.heartbeatTimeout === 'number'
  )
    return {
      type: 'command',
      commandId: message.commandId,
      command: message.command,
      args: message.args as Record<string, unknown>,
      heartbeatTimeout: message.heartbeatTimeout,
    };
  return undefined;
}
