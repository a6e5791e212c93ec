// The console's page and assets as functions/console.ts serves them, and the generated module kept current.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../functions/console.ts';
import { CONSOLE_ASSETS } from '../../web/assets.generated.ts';
import { GENERATED_MODULE, buildWeb } from '../../scripts/build-web.ts';
import { runWithEnv } from '../../shared/env.ts';

function event(file: string | undefined, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return { headers, ...(file === undefined ? {} : { pathParameters: { file } }) } as APIGatewayProxyEventV2;
}

describe('the web console assets', () => {
  it('are what web/src builds (npm run build:web regenerates web/assets.generated.ts)', async () => {
    // Act
    const web = await buildWeb();

    // Assess
    assert.equal(
      readFileSync(GENERATED_MODULE, 'utf8'),
      web.module,
      'run npm run build:web and commit the result',
    );
  });

  it('serves the page never cached, with its security headers, naming each asset by its content hash', async () => {
    // Act
    const page = await handler(event(undefined));

    // Assess
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers?.['cache-control'], 'no-cache');
    assert.match(String(page.headers?.['content-security-policy']), /default-src 'self'/);
    assert.equal(page.headers?.['referrer-policy'], 'no-referrer');
    const names = [...String(page.body).matchAll(/assets\/([^"]+)"/g)].map((match) => match[1]);
    assert.deepEqual(names.sort(), Object.keys(CONSOLE_ASSETS).sort());
    for (const name of names) assert.match(name!, /^app-[0-9a-f]{12}\.(js|css)$/);
  });

  it('lets the page connect only to its own origin and the one push URL it is given, never any WebSocket host', async () => {
    // Act
    const withPush = await runWithEnv({ BBS_PUSH_URL: 'ws://127.0.0.1:4567/v1/push' }, () =>
      handler(event(undefined)),
    );
    const onAws = await runWithEnv(
      { PUSH_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' },
      () => handler(event(undefined)),
    );
    const injected = await runWithEnv({ BBS_PUSH_URL: 'ws://evil.example/x;script-src *' }, () =>
      handler(event(undefined)),
    );
    const none = await runWithEnv({}, () => handler(event(undefined)));

    // Assess
    const connectSrc = (page: typeof none) =>
      /connect-src ([^;]*)/.exec(String(page.headers?.['content-security-policy']))?.[1];
    assert.equal(connectSrc(withPush), "'self' ws://127.0.0.1:4567/v1/push");
    assert.match(
      String(withPush.body),
      /<meta name="bbs-push-url" content="ws:\/\/127\.0\.0\.1:4567\/v1\/push"/,
    );
    assert.equal(connectSrc(onAws), "'self' wss://abc.execute-api.eu-west-1.amazonaws.com/prod");
    assert.equal(connectSrc(injected), "'self'");
    assert.doesNotMatch(String(injected.headers?.['content-security-policy']), /script-src/);
    assert.equal(connectSrc(none), "'self'");
  });

  it('serves each asset immutable, gzipped when asked, and answers 404 for any other name', async () => {
    // Prepare
    const [name, asset] = Object.entries(CONSOLE_ASSETS).find(([file]) => file.endsWith('.js'))!;

    // Act
    const plain = await handler(event(name));
    const zipped = await handler(event(name, { 'accept-encoding': 'gzip, br' }));
    const missing = await handler(event('app-NOTTHERE.js'));
    const inherited = await handler(event('constructor'));

    // Assess
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers?.['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers?.['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.body, asset.body);
    assert.equal(zipped.headers?.['content-encoding'], 'gzip');
    assert.equal(gunzipSync(Buffer.from(String(zipped.body), 'base64')).toString('utf8'), asset.body);
    assert.equal(missing.statusCode, 404);
    assert.equal(inherited.statusCode, 404);
  });
});
