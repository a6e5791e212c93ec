// Owns PostToConnection as one SigV4-signed HTTPS POST to the WebSocket API's @connections endpoint.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../aws/sha256.ts';
import { PostToConnectionError } from './errors.ts';

/**
 * What @aws-sdk/client-apigatewaymanagementapi did for push, in one request: that client cost about 27.5 KiB in
 * every function that ends a command (workerApi, commands, watchdog, dlqConsumer, push, pushFanout), for one
 * operation whose answer has no body worth parsing. The signer is the SDK's own (already in every bundle).
 * Its IAM action is marked where the post is made (poster.ts), so only the functions that post are held to it.
 */
export interface ConnectionsApi {
  /** Posts `data` to one connection: 'gone' when API Gateway answers 410 (the client left), else throws on non-2xx. */
  post(connectionId: string, data: Uint8Array): Promise<'posted' | 'gone'>;
}

export interface ConnectionsApiOptions {
  /** The WebSocket API's management endpoint: https://{api}.execute-api.{region}.amazonaws.com/{stage}, or the local gateway's. */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** A slow connection must not hold the write path. @default 3000 */
  timeoutMs?: number;
}

export function connectionsApi(opts: ConnectionsApiOptions): ConnectionsApi {
  const base = new URL(opts.endpoint.replace(/\/+$/, ''));
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: 'execute-api',
    sha256: Sha256,
  });
  const timeoutMs = opts.timeoutMs ?? 3_000;
  return {
    async post(connectionId, data) {
      const path = `${base.pathname.replace(/\/+$/, '')}/@connections/${encodeURIComponent(connectionId)}`;
      const signed = await signer.sign({
        method: 'POST',
        protocol: base.protocol,
        hostname: base.hostname,
        ...(base.port ? { port: Number(base.port) } : {}),
        path,
        headers: { host: base.host, 'content-type': 'application/octet-stream' },
        body: data,
      });
      // One retry on a network error (a kept-alive socket the server had just closed), as the SDK client was
      // configured (maxAttempts 2), within one deadline for both attempts: a subscriber that never answers
      // holds the write path timeoutMs, not twice that.
      const deadline = AbortSignal.timeout(timeoutMs);
      for (let attempt = 1; ; attempt++) {
        let response: { status: number; text: string };
        try {
          response = await send(base, path, signed.headers, data, deadline);
        } catch (error) {
          if (deadline.aborted) throw deadline.reason;
          if (attempt < 2) continue;
          throw error;
        }
        if (response.status === 410) return 'gone';
        if (response.status >= 200 && response.status < 300) return 'posted';
        throw new PostToConnectionError(response.status, response.text);
      }
    },
  };
}

/*
 * Why node:http(s) and not fetch: a post is on the path a waiting client's completion takes, and undici's
 * fetch cost ~2.5 ms more per post than a kept-alive node:http request on the loaded local stack (3.8–4.3 ms
 * against 1.2 ms from the post to the frame's arrival, measured side by side in one process). One agent per
 * scheme, keeping sockets alive between posts (an idle one does not hold Node's event loop).
 */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

function send(
  base: URL,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  const https = base.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const request = (https ? httpsRequest : httpRequest)(
      {
        agent: https ? agents.https : agents.http,
        method: 'POST',
        hostname: base.hostname,
        ...(base.port ? { port: Number(base.port) } : {}),
        path,
        headers: { ...headers, 'content-length': String(body.length) },
        signal,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
