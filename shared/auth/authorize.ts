// Owns resolving a bearer token to the authorizer's context (role, worker, caller) on the invocation's table.
import { awsEndpoint, documentClientOf, perEndpoint } from '../aws/clients.ts';
import * as ENV from '../config.ts';
import { currentEnv, requireEnv } from '../env.ts';
import { TokenStore, callerIdOf } from './tokens.ts';
import type { AuthorizerContext } from './types.ts';

const stores = perEndpoint<TokenStore>();

/** The token store of the running invocation's table (one per table and endpoint, made on first use). */
function tokenStore(): TokenStore {
  const env = currentEnv();
  const endpoint = awsEndpoint(env);
  const tableName = requireEnv(ENV.commandsTable, env);
  return stores(endpoint, tableName, () => new TokenStore({ client: documentClientOf(endpoint), tableName }));
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
