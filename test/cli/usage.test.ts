import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBbs } from './helpers.ts';

// These need no stack: each is refused before any request is made.
describe('bbs usage errors', () => {
  it('says where the API URL comes from and exits 64 when none is given', async () => {
    // Act
    const result = await runBbs(['run', '--', 'echo', 'hello'], {
      BBS_TOKEN: 'secret-token-value',
      // No file of a running npm start there.
      XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'bbs-usage-')),
    });

    // Assess
    assert.equal(result.code, 64);
    assert.match(
      result.stderr,
      /no API URL: run npm start in another shell .*, or pass --api-url \/ set BBS_API_URL/,
    );
    assert.equal(result.stdout, '');
  });

  it('asks for a token when there is none, and never prints one it was given', async () => {
    // Act
    const noToken = await runBbs(['status', 'abc'], { BBS_API_URL: 'http://127.0.0.1:9' });
    const badFlag = await runBbs(['status', '--bogus', 'abc'], {
      BBS_API_URL: 'http://127.0.0.1:9',
      BBS_TOKEN: 'secret-token-value',
    });

    // Assess
    assert.equal(noToken.code, 64);
    assert.match(noToken.stderr, /no token: pass --token or set BBS_TOKEN/);
    assert.equal(badFlag.code, 64);
    assert.match(badFlag.stderr, /bbs status: .*--bogus.*see bbs help status/);
    assert.doesNotMatch(badFlag.stderr + badFlag.stdout, /secret-token-value/);
  });

  it('names the unknown subcommand, and refuses state set with JSON that does not parse', async () => {
    // Prepare
    const env = { BBS_API_URL: 'http://127.0.0.1:9', BBS_TOKEN: 't' };

    // Act
    const unknown = await runBbs(['frobnicate'], env);
    const badJson = await runBbs(['state', 'set', '1', 'name', '{not json'], env);

    // Assess
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown subcommand 'frobnicate'; bbs help lists them/);
    assert.equal(badJson.code, 64);
    assert.match(badJson.stderr, /JSON is not valid JSON/);
  });

  it('prints help for bbs and for a subcommand, exit 0', async () => {
    // Act
    const general = await runBbs(['help'], {});
    const run = await runBbs(['run', '--help'], {});

    // Assess
    assert.equal(general.code, 0);
    assert.match(general.stdout, /run \[--worker W\]/);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /Usage: bbs run/);
  });

  it("advises -- when bbs run is given the command's own options without it", async () => {
    // Act
    const result = await runBbs(['run', '-w', 'local', 'ls', '-la'], {
      BBS_API_URL: 'http://127.0.0.1:9',
      BBS_TOKEN: 't',
    });

    // Assess
    assert.equal(result.code, 64);
    assert.equal(
      result.stderr,
      'bbs: bbs run: -la after the command would be read as an option of bbs run; to pass it to the command, put -- before the command: bbs run -w local -- ls -la\n',
    );
  });

  it('prints its version for bbs --version and bbs version, exit 0', async () => {
    // Act
    const flag = await runBbs(['--version'], {});
    const word = await runBbs(['version'], {});

    // Assess
    assert.equal(flag.code, 0, flag.stderr);
    assert.match(flag.stdout, /^bbs \d+\.\d+\.\d+ \(buildbot-serverless, node \d+/);
    assert.equal(word.stdout, flag.stdout);
  });

  it('exits 69 with a hint when the API cannot be reached', async () => {
    // Act (port 9 on loopback: nothing listens)
    const result = await runBbs(['status', 'abc'], { BBS_API_URL: 'http://127.0.0.1:9', BBS_TOKEN: 't' });

    // Assess
    assert.equal(result.code, 69);
    assert.match(result.stderr, /cannot reach the API.*check --api-url \/ BBS_API_URL/);
  });
});
