// Owns bearer tokens: issue (shown once), resolve and revoke, stored only as SHA-256 hashes.
import { createHash, randomBytes } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ForbiddenError } from '../errors.ts';
import { ROLES } from './types.ts';
import type { Principal, Role } from './types.ts';

/**
 * Bearer tokens. A token is shown once, when made; only its SHA-256 hash is stored, in the commands
 * table (access pattern 7 of infra/commands-table.yml). Tokens carry their role in a prefix so a person
 * can tell them apart; the prefix grants nothing, the stored item does.
 */
export function generateToken(role: Role): string {
  return `bbs_${role}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Hex digits of a token's hash that name its caller: 128 bits, so two tokens never share an identity. */
export const CALLER_ID_HEX = 32;

/**
 * The caller identity of a token: the first CALLER_ID_HEX hex digits of its SHA-256 hash. It can be
 * logged and passed on (the authorizer's context carries it); the token cannot be recovered from it.
 */
export function callerIdOf(token: string): string {
  return hashToken(token).slice(0, CALLER_ID_HEX);
}

const tokenKey = (hash: string) => ({ pk: `TOKEN#${hash}`, sk: 'TOKEN' });

/**
 * A token's stored item. The worker a worker token is bound to is `boundWorker`, never `worker`: `worker`
 * and `createdAt` are the byWorker index's keys (access pattern 5), and a token item carrying both landed
 * in a worker's command list, where its key could reach a list cursor. Items written before carry `worker`
 * and are still read (resolve); they leave the index when the token is revoked or rotated.
 */
interface TokenItem {
  pk: string;
  sk: string;
  role: Role;
  boundWorker?: string;
  /** Items written before boundWorker: read, never written. */
  worker?: string;
  createdAt: number;
}

export class TokenStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(opts: { client: DynamoDBDocumentClient; tableName: string }) {
    this.client = opts.client;
    this.tableName = opts.tableName;
  }

  /** Makes a token for `principal`, stores its hash and returns the token (the only time it is visible). */
  async issue(principal: Principal): Promise<{ token: string; hash: string }> {
    const token = generateToken(principal.role);
    const hash = hashToken(token);
    const item: TokenItem = { ...tokenKey(hash), role: principal.role, createdAt: Date.now() };
    if (principal.role === ROLES.worker) item.boundWorker = principal.worker;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    return { token, hash };
  }

  /** The principal a token stands for, or undefined when the token is unknown or revoked. */
  async resolve(token: string): Promise<Principal | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: tokenKey(hashToken(token)) }),
    );
    if (!Item) return undefined;
    const item = Item as TokenItem;
    if (item.role === ROLES.worker)
      return { role: ROLES.worker, worker: item.boundWorker ?? item.worker ?? '' };
    return { role: item.role } as Principal;
  }

  async revoke(hash: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: tokenKey(hash) }));
  }
}

/** Throws ForbiddenError unless the caller has one of `roles`. */
export function requireRole(principal: Principal, ...roles: Role[]): void {
  if (!roles.includes(principal.role))
    throw new ForbiddenError(
      `this call needs ${withArticle(roles.join(' or '))} token; yours is ${withArticle(principal.role)} token`,
    );
}

/** "an admin", "a client": the roles' names with their article. */
function withArticle(words: string): string {
  return /^[aeiou]/i.test(words) ? `an ${words}` : `a ${words}`;
}

/** Throws ForbiddenError unless the caller is the worker `name` (worker tokens are bound to one worker). */
export function requireWorker(principal: Principal, name: string): void {
  requireRole(principal, ROLES.worker);
  if (principal.worker !== name)
    throw new ForbiddenError(`this token belongs to worker ${principal.worker}, not ${name}`);
}
