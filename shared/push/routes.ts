// Owns what the WebSocket API's routes do: $connect's token check, $disconnect, and the subscribe/unsubscribe/ping messages.
import { authorizeBearer } from '../auth/authorize.ts';
import { ROLES } from '../auth/types.ts';
import type { Role } from '../auth/types.ts';
import { ValidationError } from '../errors.ts';
import { parse } from '../schema.ts';
import { openConnection, subscribe, unsubscribe } from './connections.ts';
import { closeConnection } from './close.ts';
import { unwatchCommand, watchCommand } from './snapshot.ts';
import type { PushContext } from './context.ts';
import { encodeFrame, pushClientMessage, topicOf } from './wire.ts';
import type { PushFrame, PushTopic } from './wire.ts';

/*
 * The token travels in Sec-WebSocket-Protocol, not in the URL: a browser cannot set an Authorization header
 * on a WebSocket, and a query string is what proxies, load balancers and access logs keep. The client offers
 * two subprotocols, `bbs.v1` and `bbs.token.<token>` (Kubernetes does the same with its bearer tokens); the
 * server answers `bbs.v1` only, so the token is never echoed. The handler logs neither the header nor the event.
 */

/** The subprotocol the server selects. */
export const PUSH_PROTOCOL = 'bbs.v1';
/** The prefix of the subprotocol that carries the token. */
export const TOKEN_PROTOCOL_PREFIX = 'bbs.token.';

/** The roles that may connect: those that read commands (a worker token follows nothing). */
const CONNECT_ROLES: ReadonlySet<Role> = new Set([ROLES.client, ROLES.admin]);

/** The token offered in a Sec-WebSocket-Protocol header (`bbs.v1, bbs.token.<token>`), if any. */
export function tokenOfProtocols(header: string | undefined): string | undefined {
  for (const offered of (header ?? '').split(',')) {
    const protocol = offered.trim();
    if (protocol.startsWith(TOKEN_PROTOCOL_PREFIX)) return protocol.slice(TOKEN_PROTOCOL_PREFIX.length);
  }
  return undefined;
}

export type ConnectOutcome =
  { accepted: true; protocol: string } | { accepted: false; statusCode: 401 | 403 };

/** $connect: a client or admin token in the subprotocols opens the connection; anything else is refused. */
export async function connect(
  ctx: PushContext,
  connectionId: string,
  protocolsHeader: string | undefined,
): Promise<ConnectOutcome> {
  const token = tokenOfProtocols(protocolsHeader);
  if (!token) return { accepted: false, statusCode: 401 };
  const context = await authorizeBearer(`Bearer ${token}`);
  if (context.role === '') return { accepted: false, statusCode: 401 };
  if (!CONNECT_ROLES.has(context.role)) return { accepted: false, statusCode: 403 };
  await openConnection(ctx, connectionId, context.role);
  return { accepted: true, protocol: PUSH_PROTOCOL };
}

/** Takes the connection off the watcher lists of the commands among `topics` (snapshot.ts). */
async function unwatch(ctx: PushContext, connectionId: string, topics: PushTopic[]): Promise<void> {
  await Promise.all(
    topics.map((topic) =>
      'commandId' in topic
        ? unwatchCommand(ctx.db, ctx.commandsTable, topic.commandId, connectionId)
        : undefined,
    ),
  );
}

export async function disconnect(ctx: PushContext, connectionId: string): Promise<void> {
  await unwatch(ctx, connectionId, await closeConnection(ctx, connectionId));
}

function errorFrame(code: string, message: string): PushFrame {
  return { type: 'error', code, message };
}

/** A message on the socket: answers the frame to send back (the route's response). */
export async function onMessage(
  ctx: PushContext,
  connectionId: string,
  body: string | undefined,
): Promise<string> {
  let value: unknown;
  try {
    value = JSON.parse(body ?? '');
  } catch {
    return encodeFrame(errorFrame('invalid_json', 'a message is one JSON object, such as {"action":"ping"}'));
  }
  let message;
  try {
    message = parse(pushClientMessage, value);
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return encodeFrame(
      errorFrame(
        'validation_error',
        `${error.message}: send {"action":"subscribe"|"unsubscribe", "commandId"|"worker"|"all":true} or {"action":"ping"}`,
      ),
    );
  }
  const topic = topicOf(message);
  if (message.action === 'ping' || !topic) return encodeFrame({ type: 'pong' });
  if (message.action === 'unsubscribe') {
    await Promise.all([unsubscribe(ctx, connectionId, topic), unwatch(ctx, connectionId, [topic])]);
    return encodeFrame({ type: 'unsubscribed', topic });
  }
  if (!(await subscribe(ctx, connectionId, topic)))
    return encodeFrame(
      errorFrame('too_many_subscriptions', 'unsubscribe from a topic first, or open another connection'),
    );
  // The subscription is stored before the command is marked watched (snapshot.ts): a write that sees the
  // mark finds the subscriber.
  const snapshot =
    'commandId' in topic
      ? await watchCommand(ctx.db, ctx.commandsTable, topic.commandId, connectionId)
      : undefined;
  return encodeFrame({ type: 'subscribed', topic, ...(snapshot ? { snapshot } : {}) });
}
