// GET / and GET /assets/{file}: the web console's page and its content-hashed assets (docs/console.md).
import { gzipSync } from 'node:zlib';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as ENV from '../shared/config.ts';
import { currentEnv } from '../shared/env.ts';
import { CONSOLE_ASSETS, CONSOLE_INDEX_HTML } from '../web/assets.generated.ts';

/**
 * No authorizer (serverless.yml): the page and its scripts carry no data. The page asks for a token and
 * sends it to the API in the Authorization header; the data comes from the API's own routes. The assets
 * are embedded in this bundle (web/assets.generated.ts, about 40 KB), so there is no bucket nor CDN to deploy:
 * one Lambda answers, and the browser keeps each asset for a year under its content-hashed name.
 */

/**
 * What the page may load and connect to: only this origin, and the one push URL the page is given (pushUrl),
 * never any WebSocket host: a script that got in could otherwise send what it read anywhere over ws:/wss:.
 */
function contentSecurityPolicy(push: string | undefined): string {
  return [
    "default-src 'self'",
    `connect-src 'self'${push === undefined ? '' : ` ${push}`}`,
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join('; ');
}

/**
 * The push URL as a CSP source (scheme, host, port and path, nothing else), or undefined when it is not a ws:/wss:
 * URL: it comes from the environment, and a space or `;` in it must not add sources or directives.
 */
function pushSource(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return undefined;
  const source = `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  // A path may hold `;` and `,` unescaped, which CSP reads as separators.
  return /[;,\s]/.test(source) ? undefined : source;
}

const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** Gzipped bodies, made once per instance on first request (about 1 ms for the largest). */
const gzipped = new Map<string, string>();

function acceptsGzip(event: APIGatewayProxyEventV2): boolean {
  return /\bgzip\b/.test(event.headers?.['accept-encoding'] ?? '');
}

function answer(
  event: APIGatewayProxyEventV2,
  key: string,
  body: string,
  headers: Record<string, string>,
): APIGatewayProxyStructuredResultV2 {
  const all = { ...COMMON_HEADERS, ...headers, vary: 'accept-encoding' };
  if (!acceptsGzip(event)) return { statusCode: 200, headers: all, body };
  let zipped = gzipped.get(key);
  if (zipped === undefined) {
    zipped = gzipSync(body, { level: 9 }).toString('base64');
    gzipped.set(key, zipped);
  }
  return {
    statusCode: 200,
    headers: { ...all, 'content-encoding': 'gzip' },
    body: zipped,
    isBase64Encoded: true,
  };
}

/**
 * The push API's WebSocket URL, for the page to open (web/src/push.ts): BBS_PUSH_URL where set (the local stack),
 * else PostToConnection's https endpoint as wss (on AWS the same host and stage). None: the page polls.
 */
function pushUrl(): string | undefined {
  const env = currentEnv();
  return env[ENV.pushUrl] || env[ENV.pushEndpoint]?.replace(/^https:/, 'wss:') || undefined;
}

/** index.html with the push URL in a meta tag (escaped: it comes from the environment, not from a request). */
function indexHtml(): string {
  const url = pushUrl();
  if (url === undefined) return CONSOLE_INDEX_HTML;
  const escaped = url.replace(/[&"<>]/g, (char) => `&#${char.charCodeAt(0)};`);
  return CONSOLE_INDEX_HTML.replace(
    '<head>',
    `<head>\n    <meta name="bbs-push-url" content="${escaped}" />`,
  );
}

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const file = event.pathParameters?.file;
  if (file === undefined) {
    const html = indexHtml();
    const push = pushSource(pushUrl());
    // Keyed by the page itself: two local stacks in one process may name two push URLs.
    return answer(event, html, html, {
      'content-type': 'text/html; charset=utf-8',
      // Always revalidated: a deploy's new page names the new assets at once.
      'cache-control': 'no-cache',
      'content-security-policy': contentSecurityPolicy(push),
      'x-frame-options': 'DENY',
    });
  }
  const asset = Object.hasOwn(CONSOLE_ASSETS, file) ? CONSOLE_ASSETS[file] : undefined;
  if (asset === undefined)
    return {
      statusCode: 404,
      headers: { ...COMMON_HEADERS, 'content-type': 'application/json', 'cache-control': 'no-cache' },
      body: JSON.stringify({ message: 'Not Found' }),
    };
  return answer(event, file, asset.body, {
    'content-type': asset.contentType,
    'cache-control': 'public, max-age=31536000, immutable',
  });
}
