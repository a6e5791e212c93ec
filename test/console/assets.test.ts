// The console's page and assets as functions/console.ts serves them, and the generated module kept current.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { handler } from '../../functions/console.ts';
import { CONSOLE_ASSETS } from '../../web/assets.generated.ts';
import { GENERATED_MODULE, buildWeb } from '../../scripts/build-web.ts';

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
