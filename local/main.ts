/**
 * `npm start`: the whole service on this machine, no AWS account. Flags: --port N (default 3000 when free, else
 * any free port), --persist DIR (keep DynamoDB's data in DIR between runs). Ctrl-C stops everything it started.
 */
import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
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
    options: { port: { type: 'string' }, persist: { type: 'string' } },
    strict: true,
  });
  const port =
    values.port !== undefined ? Number(values.port) : (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port ${values.port} is not a port number`);

  const startedAt = performance.now();
  const stack = await startLocalStack({
    port,
    ...(values.persist !== undefined ? { persistDir: values.persist } : {}),
    log: (line) => console.error(line),
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
export BBS_ADMIN_TOKEN=${shellQuote(stack.tokens.admin)}
export BBS_CLIENT_TOKEN=${shellQuote(client)}

# Try it: make an object id, then set and read a state value.
ID=$(curl -s -X POST ${stack.apiUrl}/v1/objects -H "Authorization: Bearer $BBS_CLIENT_TOKEN" \\
  -H 'content-type: application/json' -d '{"name":"demo","className":"Example"}' | sed 's/[^0-9]//g')
curl -s -X PUT ${stack.apiUrl}/v1/objects/$ID/state/greeting -H "Authorization: Bearer $BBS_CLIENT_TOKEN" \\
  -H 'content-type: application/json' -d '{"value":"hello"}'
curl -s ${stack.apiUrl}/v1/objects/$ID/state/greeting -H "Authorization: Bearer $BBS_CLIENT_TOKEN"
`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
