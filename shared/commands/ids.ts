// Owns command ids: a fresh one per start, or one derived from an idempotency key, and the check every route makes before a read.
import { createHash, randomBytes } from 'node:crypto';
import { BuildbotError } from '../errors.ts';
import { CommandNotFoundError } from './errors.ts';

/** Ids are 32 hex digits; an idempotency key maps to the same id for the same calling token. */
export const COMMAND_ID_PATTERN = /^[0-9a-f]{32}$/;

/**
 * A fresh random id, or, with an idempotency key, `sha256(caller + "\n" + key)`: the key is scoped to the
 * token that used it (`caller`, AuthorizerContext.caller). Two tokens that use one key get two commands,
 * so a token can neither reach nor learn of another's command through a key (docs/errors.md). Scoping by
 * role instead let every client token share one key space.
 */
export function commandIdFor(caller: string, idempotencyKey: string | undefined): string {
  if (idempotencyKey === undefined) return randomBytes(16).toString('hex');
  // Fail closed: an empty caller would put every token that lacks one into a single shared key space.
  if (caller === '')
    throw new BuildbotError(
      "an idempotency key needs the calling token's identity, and the authorizer's context has no caller",
    );
  return createHash('sha256').update(`${caller}\n${idempotencyKey}`, 'utf8').digest('hex').slice(0, 32);
}

/** A malformed id names no command: CommandNotFoundError, without a read. */
export function checkCommandId(commandId: string): void {
  if (!COMMAND_ID_PATTERN.test(commandId)) throw new CommandNotFoundError(commandId);
}
