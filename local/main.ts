// `npm start`: the local stack with one worker, and the commands to reach it from another shell.
/**
 * `npm start`: the whole service on this machine, no AWS account, with one worker. Flags: --port N (default 3000
 * when free, else any free port), --persist DIR (keep DynamoDB's data in DIR between runs), --worker NAME
 * (default local), --basedir DIR (the worker's, default .local-data/worker), --concurrency N (default 4),
 * --no-worker. Ctrl-C stops everything it started.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import { startLocalStack } from './index.ts';

const PREFERRED_PORT = 3000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const server = createServer();
    server.once('error', () => answer(false));
    server.listen(port, '127.0.0.1', () => server.close(() => answer(true)));
  });
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      persist: { type: 'string' },
      worker: { type: 'string', default: 'local' },
      basedir: { type: 'string', default: path.join('.local-data', 'worker') },
      concurrency: { type: 'string', default: '4' },
      'no-worker': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const port =
    values.port !== undefined ? Number(values.port) : (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port number`);

  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency ${values.concurrency} is not a positive whole number`);

  const startedAt = performance.now();
  const log = (line: string) => console.error(line);
  const stack = await startLocalStack({
    port,
    ...(values.persist !== undefined ? { persistDir: values.persist } : {}),
    ...(values['no-worker']
      ? {}
      : { worker: { name: values.worker, basedir: path.resolve(values.basedir), concurrency, log } }),
    log,
  });
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const client = stack.tokens.client;
  console.log(`buildbot-serverless local stack ready in ${seconds} s (Ctrl-C stops it)

API URL       ${stack.apiUrl}
admin token   ${stack.tokens.admin}
client token  ${client}

# Reach the stack from another shell:
${Object.entries(stack.env)
  .map(([name, value]) => `export ${name}=${shellQuote(value)}`)
  .join('\n')}
export ${ENV.adminToken}=${shellQuote(stack.tokens.admin)}
export ${ENV.clientToken}=${shellQuote(client)}
export ${ENV.token}=$${ENV.clientToken}
${
  stack.worker
    ? `
# Try it: run a command on worker '${stack.worker.name}' (its base directory: ${stack.worker.basedir}).
npx bbs run --worker ${shellQuote(stack.worker.name)} -- echo hello
npx bbs run --worker ${shellQuote(stack.worker.name)} -- sh -c 'for i in 1 2 3; do echo step $i; sleep 1; done'
`
    : ''
}
# Or state: make an object id, then set and read a state value.
ID=$(curl -s -X POST ${stack.apiUrl}/v1/objects -H "Authorization: Bearer $${ENV.clientToken}" \\
  -H 'content-type: application/json' -d '{"name":"demo","className":"Example"}' | sed 's/[^0-9]//g')
curl -s -X PUT ${stack.apiUrl}/v1/objects/$ID/state/greeting -H "Authorization: Bearer $${ENV.clientToken}" \\
  -H 'content-type: application/json' -d '{"value":"hello"}'
curl -s ${stack.apiUrl}/v1/objects/$ID/state/greeting -H "Authorization: Bearer $${ENV.clientToken}"
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
