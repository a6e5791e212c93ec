import { dynamoDocumentClient } from '../aws/clients.ts';
import { ENV, requireEnv } from '../config.ts';
import { TokenStore, callerIdOf } from './tokens.ts';
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
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
  const principal = token ? await tokenStore().resolve(token) : undefined;
  if (!token || !principal) return { role: '', worker: '' };
  return { role: principal.role, worker: principal.worker ?? '', caller: callerIdOf(token) };
}
