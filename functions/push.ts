// Lambda for the WebSocket API's routes: $connect (token check), $disconnect, and $default (subscribe, unsubscribe, ping).
import { ConfigurationError } from '../shared/errors.ts';
import * as ENV from '../shared/config.ts';
import { pushContextFromEnv } from '../shared/push/context.ts';
import { connect, disconnect, onMessage } from '../shared/push/routes.ts';
import { observed } from './lib/lambda.ts';

/** The fields of API Gateway's WebSocket event this handler reads (aws-lambda's type lacks $connect's headers). */
export interface WebSocketEvent {
  requestContext: { routeKey: string; connectionId: string; eventType?: string };
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

function header(event: WebSocketEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** Never logs the event: its $connect headers carry the caller's token. */
export const handler = observed(async function pushHandler(event: WebSocketEvent): Promise<WebSocketResult> {
  const ctx = pushContextFromEnv();
  if (!ctx) throw new ConfigurationError(ENV.connectionsTable);
  const { routeKey, connectionId } = event.requestContext;
  if (routeKey === '$connect') {
    const outcome = await connect(ctx, connectionId, header(event, 'sec-websocket-protocol'));
    if (!outcome.accepted) return { statusCode: outcome.statusCode };
    return { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': outcome.protocol } };
  }
  if (routeKey === '$disconnect') {
    await disconnect(ctx, connectionId);
    return { statusCode: 200 };
  }
  return { statusCode: 200, body: await onMessage(ctx, connectionId, event.body) };
});
