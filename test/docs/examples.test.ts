import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ownStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { collectExamples, NOT_RUN, notRunEntry, TS_PRELUDES } from './examples.ts';
import type { Example } from './examples.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const examples = collectExamples(root);
const where = (example: Example) => `${example.file}:${example.line}`;

/**
 * The shell an example runs in: `bbs` and `npx bbs` are this clone's, and a bbs exit of 64 (usage) or 69 (the
 * API refused or could not be reached), or a curl answer other than 2xx, is written down as a failure. Other
 * exit codes are the example's own (`bbs run -- sh -c 'exit 3'` shows one on purpose).
 */
const PRELUDE = `
bbs() { node "$BBS_JS" "$@"; local rc=$?; if [ $rc -eq 64 ] || [ $rc -eq 69 ]; then echo "bbs $* -> exit $rc" >> "$FAILS"; fi; return $rc; }
npx() { if [ "$1" = bbs ]; then shift; bbs "$@"; else echo "npx $*: not run here (list the example in NOT_RUN)" >> "$FAILS"; return 1; fi; }
curl() {
  local out rc code
  out=$(command curl -sS -w '\\n%{http_code}' "$@"); rc=$?
  code=\${out##*$'\\n'}; printf '%s' "\${out%$'\\n'*}"
  if [ $rc -ne 0 ] || [ "\${code:0:1}" != 2 ]; then echo "curl $* -> rc $rc, HTTP $code" >> "$FAILS"; fi
  return $rc
}
`;

function runShell(
  code: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${PRELUDE}\n${code}`], {
      env,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

describe('the examples in README.md and docs/', () => {
  let stack: TestStack;
  let workdir: string;
  let env: Record<string, string>;

  before(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'bbs-docs-'));
    stack = await ownStack({ worker: { name: 'local', basedir: path.join(workdir, 'worker') } });
    // What npm start exports (local/main.ts), as a user pastes it.
    env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...stack.env,
      BBS_API_URL: stack.apiUrl,
      BBS_ADMIN_TOKEN: stack.tokens.admin,
      BBS_CLIENT_TOKEN: stack.tokens.client,
      BBS_TOKEN: stack.tokens.client,
      BBS_JS: path.join(root, 'bin', 'bbs.mjs'),
      FAILS: path.join(workdir, 'failures'),
    };
  });

  after(async () => {
    await stack?.release();
    if (workdir) rmSync(workdir, { recursive: true, force: true });
  });

  it('lists every example it does not run with a reason, and no entry that matches no example', () => {
    // Assess
    const stale = NOT_RUN.filter((entry) => !examples.some((example) => notRunEntry(example) === entry));
    assert.deepEqual(stale, [], 'NOT_RUN entries that match no example (the example changed or went)');
    assert.ok(examples.length > 20, `found only ${examples.length} examples`);
  });

  it('runs each shell example against a local stack as written, in order', async () => {
    // Prepare
    const runnable = examples.filter((example) => example.lang === 'sh' && !notRunEntry(example));
    const failures: string[] = [];

    // Act
    for (const example of runnable) {
      writeFileSync(env.FAILS!, '');
      const { status, output } = await runShell(example.code, env, workdir);
      const failed = readFileSync(env.FAILS!, 'utf8').trim();
      if (failed !== '' || status === null)
        failures.push(
          `${where(example)}:\n${failed || 'timed out'}\n--- its output:\n${output.slice(-2000)}`,
        );
    }

    // Assess
    assert.ok(runnable.length >= 8, `ran only ${runnable.length} shell examples`);
    assert.deepEqual(failures, []);
  });

  it('type-checks each TypeScript example as written (with the declarations its text assumes)', () => {
    // Prepare: one file per example beside docs/, so that '../shared/index.ts' resolves as in the docs
    const dir = path.join(root, '.docs-examples');
    mkdirSync(dir, { recursive: true });
    const files: string[] = [];
    try {
      examples
        .filter((example) => example.lang === 'ts')
        .forEach((example, i) => {
          const file = path.join(dir, `${path.basename(example.file, '.md')}-${example.line}.ts`);
          const prelude = TS_PRELUDES[example.file] ?? '';
          writeFileSync(file, `// ${where(example)}\n${prelude}\n${example.code}\nexport {};\n`);
          files.push(file);
          void i;
        });
      writeFileSync(
        path.join(dir, 'tsconfig.json'),
        JSON.stringify({
          extends: '../tsconfig.json',
          include: ['*.ts'],
          compilerOptions: { noUnusedLocals: false },
        }),
      );

      // Act
      const tsc = spawnSync(
        process.execPath,
        [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
        {
          encoding: 'utf8',
        },
      );

      // Assess
      assert.ok(files.length >= 3, `found only ${files.length} TypeScript examples`);
      assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
