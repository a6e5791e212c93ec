/** Who is calling, as the authorizer resolved it from the bearer token (docs/security.md). */
export const ROLES = { admin: 'admin', client: 'client', worker: 'worker' } as const;
export type Role = (typeof ROLES)[keyof typeof ROLES];

export type Principal =
  | { role: typeof ROLES.admin; worker?: never }
  | { role: typeof ROLES.client; worker?: never }
  | { role: typeof ROLES.worker; worker: string };

/** The authorizer's context (simple responses: string values only), as handlers receive it. */
export interface AuthorizerContext {
  role: Role;
  /** The worker a worker token is bound to; '' for other roles. */
  worker: string;
  /**
   * Which token called: a prefix of its SHA-256 hash (callerIdOf in tokens.ts), never the token. It scopes
   * what a token made to that token (its idempotency keys), where `role` is shared by every token of a role.
   */
  caller: string;
}
