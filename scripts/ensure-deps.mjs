// `npm start` and `npm test` on a fresh clone: install the locked dependencies first, so one command is enough.
// Plain JavaScript, because tsx itself is one of the dependencies it installs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../node_modules/.bin/tsx', import.meta.url))) {
  console.error('node_modules is missing: running npm ci first');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    stdio: 'inherit',
    cwd: new URL('..', import.meta.url),
  });
}
