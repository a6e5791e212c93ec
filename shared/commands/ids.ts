// Owns command ids: a fresh one per start, or one derived from an idempotency key, and the check every route makes before a read.
import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../auth/types.ts';
import { CommandNotFoundError } from './errors.ts';

/** Ids are 32 hex digits; an idempotency key maps to the same id for the same caller role. */
export const COMMAND_ID_PATTERN = /^[0-9a-f]{32}$/;

export function commandIdFor(role: Role, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomBytes(16).toString('hex');
  return createHash('sha256').update(`${role}\n${idempotencyKey}`, 'utf8').digest('hex').slice(0, 32);
}

/** A malformed id names no command: CommandNotFoundError, without a read. */
export function checkCommandId(commandId: string): void {
  if (!COMMAND_ID_PATTERN.test(commandId)) throw new CommandNotFoundError(commandId);
}
