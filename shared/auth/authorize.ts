import { dynamoDocumentClient } from '../aws/clients.ts';
import { ENV, requireEnv } from '../config.ts';
import { TokenStore } from './tokens.ts';
import type { AuthorizerContext } from './types.ts';

let store: TokenStore | undefined;

function tokenStore(): TokenStore {
  store ??= new TokenStore({ client: dynamoDocumentClient(), tableName: requireEnv(ENV.commandsTable) });
  return store;
}

/** Resolves an `Authorization: Bearer <token>` header to the authorizer context ('' role when unknown). */
export async function authorizeBearer(
  header: string | undefined,
): Promise<AuthorizerContext | { role: ''; worker: '' }> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const principal = match?.[1] ? await tokenStore().resolve(match[1]) : undefined;
  if (!principal) return { role: '', worker: '' };
  return { role: principal.role, worker: principal.worker ?? '' };
}
