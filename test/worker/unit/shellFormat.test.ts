import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnmatchToRegExp } from '../../../worker/commands/glob.ts';
import {
  buildEnvironment,
  commandBaseEnvironment,
  countLines,
  environmentHeader,
  pyRepr,
  shellArgv,
  shellQuote,
  workdirHeader,
} from '../../../worker/commands/shellFormat.ts';

describe('shell formatting', () => {
  it('runs a string under /bin/sh -c and shows it as given', () => {
    assert.deepEqual(shellArgv('make && make test'), {
      real: ['/bin/sh', '-c', 'make && make test'],
      fake: ['/bin/sh', '-c', 'make && make test'],
      display: 'make && make test',
    });
  });

  it('quotes argv for display as Python shlex does, hiding obfuscated words', () => {
    const argv = shellArgv(['echo', "it's", '', ['obfuscated', 'hunter2', 'XXXX']]);
    assert.deepEqual(argv.real, ['echo', "it's", '', 'hunter2']);
    assert.equal(argv.display, `echo 'it'"'"'s' "" XXXX`);
    assert.equal(shellQuote('a/b.c=d'), 'a/b.c=d');
  });

  it('builds the environment as Buildbot: null unsets, lists join, ${VAR} substitutes, PYTHONPATH appends', () => {
    const env = buildEnvironment(
      { PATH: '/bin', HOME: '/root', PYTHONPATH: '/old' },
      { HOME: null, PATH: ['/opt/bin', '${PATH}'], PYTHONPATH: '/new', EMPTY: '${NOPE}x' },
    );
    assert.deepEqual(env, { PATH: '/opt/bin:/bin', PYTHONPATH: '/new:/old', EMPTY: 'x' });
    assert.throws(
      () => buildEnvironment({}, { N: 3 }),
      /'env' values must be strings or lists; key 'N' is incorrect/,
    );
  });

  it('starts a command from the worker environment without the agent token or any AWS setting', () => {
    // Prepare
    const agent = {
      PATH: '/bin',
      HOME: '/home/w',
      BBS_WORKER_TOKEN: 't',
      BBS_API_URL: 'u',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
      AWS_SESSION_TOKEN: 'st',
      AWS_PROFILE: 'p',
      AWS_WEB_IDENTITY_TOKEN_FILE: '/f',
      AWS_ROLE_ARN: 'arn',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://x',
      AWS_CONTAINER_AUTHORIZATION_TOKEN: 'ct',
      aws_secret_access_key: 'lower',
    };

    // Act
    const base = commandBaseEnvironment(agent);

    // Assess
    assert.deepEqual(base, { PATH: '/bin', HOME: '/home/w' });
    assert.deepEqual(buildEnvironment(base, { X: '${BBS_WORKER_TOKEN}${AWS_SECRET_ACCESS_KEY}' }), {
      ...base,
      X: '',
    });
  });

  it('passes the environment unchanged without env', () => {
    assert.deepEqual(buildEnvironment({ A: '1' }, undefined), { A: '1' });
  });

  it('hides secret-looking variables in the environment header', () => {
    assert.equal(
      environmentHeader({ B: '2', AWS_SECRET_ACCESS_KEY: 's', A: '1' }, {}),
      ' environment:\n  A=1\n  AWS_SECRET_ACCESS_KEY=<hidden>\n  B=2\n',
    );
  });

  it("lists what the command changes and sums up the worker's unchanged variables by count and fingerprint", () => {
    // Prepare
    const worker = { PATH: '/bin', KEEP: 'k', OTHER: 'o', GONE: 'g', CHANGED: 'old' };
    const env = { PATH: '/bin', KEEP: 'k', OTHER: 'o', CHANGED: 'new', ADDED: 'a', PWD: '/w' };
    // Act
    const header = environmentHeader(env, worker);
    const otherValue = environmentHeader({ ...env, OTHER: 'x' }, { ...worker, OTHER: 'x' });
    // Assess
    assert.match(
      header,
      /^ environment:\n {2}ADDED=a\n {2}CHANGED=new\n {2}GONE \(unset\)\n {2}PATH=\/bin\n {2}PWD=\/w\n {2}\(and 2 more, unchanged from the worker's environment; sha256 of their NAME=value lines [0-9a-f]{12}\)\n$/,
    );
    assert.notEqual(header, otherValue);
  });

  it('writes Buildbot header lines', () => {
    assert.equal(workdirHeader('/b/w', 1, 20), ' in dir /b/w (timeout 1 sec) (maxTime 20 secs)\n');
    assert.equal(
      pyRepr({ log: 'x.log', follow: { filename: 'y', follow: true } }),
      "{'log': 'x.log', 'follow': {'filename': 'y', 'follow': True}}",
    );
  });

  it('counts lines as Buildbot does', () => {
    assert.equal(countLines('a\nb\r\nc\rd'), 3);
  });

  it('translates fnmatch patterns', () => {
    assert.ok(fnmatchToRegExp('*.txt').test('a.txt'));
    assert.ok(!fnmatchToRegExp('*.txt').test('a.txt.bak'));
    assert.ok(fnmatchToRegExp('[!a]?.c').test('bx.c'));
    assert.ok(!fnmatchToRegExp('[!a]?.c').test('ax.c'));
    assert.ok(fnmatchToRegExp('a+b(1).txt').test('a+b(1).txt'));
  });
});
