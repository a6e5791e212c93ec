// `npm start`: the local stack with one worker, and the commands to reach it from another shell.
/**
 * `npm start`: the whole service on this machine, no AWS account, with one worker. Flags are in USAGE below.
 * Ctrl-C stops everything it started, and its last line says what became of the commands that were running.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ENV from '../shared/config.ts';
import { removeStackFile, stackFilePath, writeStackFile } from '../cli/stackFile.ts';
import { startLocalStack } from './index.ts';

/** The gateway's port unless --port names another. A taken port is an error, not a reason to pick another. */
const DEFAULT_PORT = 3000;

const USAGE = `Usage: npm start [-- OPTIONS]

Runs the whole service on this machine (DynamoDB Local, the fauxqs SQS emulator, the API, one worker)
and prints the API URL, the tokens and the exports that reach it from another shell. Ctrl-C stops it.

  --port N          the API's port (default ${DEFAULT_PORT}; 0 picks any free port)
  --persist DIR     keep DynamoDB's data in DIR between runs (default: in memory)
  --worker NAME     the worker's name (default local)
  --basedir DIR     the worker's base directory (default .local-data/worker)
  --concurrency N   commands the worker runs at once (default 4)
  --no-worker       run no worker
  -h, --help        this text

See README.md, "Run it locally".`;

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

const OPTIONS = {
  port: { type: 'string' },
  persist: { type: 'string' },
  worker: { type: 'string', default: 'local' },
  basedir: { type: 'string', default: path.join('.local-data', 'worker') },
  concurrency: { type: 'string', default: '4' },
  'no-worker': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parseOptions() {
  try {
    return parseArgs({
      options: OPTIONS,
      strict: true,
    }).values;
  } catch (error) {
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
      throw new Error(`npm start: ${error.message} (npm start -- --help lists the options)`, {
        cause: error,
      });
    throw error;
  }
}

async function main(): Promise<void> {
  const values = parseOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = values.port !== undefined ? Number(values.port) : DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`npm start: --port ${values.port} is not a port number (0-65535; 0 picks any free port)`);
  if (port !== 0 && !(await portIsFree(port)))
    throw new Error(
      `npm start: port ${port} is in use (another npm start?). Stop that one, or pick another port: npm start -- --port ${port + 1} (or --port 0 for any free port)`,
    );

  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error(`--concurrency ${values.concurrency} is not a positive whole number`);

  const startedAt = performance.now();
  let runningAtStop: number | undefined;
  const log = (line: string) => {
    console.error(line);
    // The worker's own lines on Ctrl-C: how many commands it interrupts, then that it has stopped (each
    // interrupted command completed by then). The last line of npm start says what became of them.
    const stopping = /^worker .*: stopping; (\d+) command\(s\) still running/.exec(line);
    if (stopping) runningAtStop = Number(stopping[1]);
    if (/^worker .*: stopped$/.test(line))
      console.error(finalLine(values.worker, runningAtStop ?? 0, values.persist !== undefined));
  };
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
  // The client token rides in the fragment, which the browser never sends (docs/console.md).
  const consoleUrl = `${stack.apiUrl}/#token=${encodeURIComponent(client)}`;
  const recorded = recordStack({ apiUrl: stack.apiUrl, client, admin: stack.tokens.admin, consoleUrl });
  console.log(`buildbot-serverless local stack ready in ${seconds} s (Ctrl-C stops it)

Console       ${consoleUrl}
API URL       ${stack.apiUrl}
admin token   ${stack.tokens.admin}
client token  ${client}
${recorded ? `\nnpx bbs finds this stack by itself (${recorded}, yours only).\n` : ''}
# Reach the stack from another shell or machine:
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

/**
 * Writes the file through which `bbs` finds this stack (cli/stackFile.ts), and removes it when npm start ends:
 * Ctrl-C and SIGTERM (the stack's own handlers stop it and re-raise the signal), or a normal exit. Returns its
 * path, or undefined when it could not be written (bbs then needs the exports).
 */
function recordStack(stack: {
  apiUrl: string;
  client: string;
  admin: string;
  consoleUrl: string;
}): string | undefined {
  const file = stackFilePath();
  try {
    writeStackFile({
      apiUrl: stack.apiUrl,
      clientToken: stack.client,
      adminToken: stack.admin,
      consoleUrl: stack.consoleUrl,
      pid: process.pid,
      startedAt: new Date().toISOString(),
    });
  } catch (error) {
    console.error(
      `npm start: could not write ${file} (${(error as Error).message}); bbs needs the exports below`,
    );
    return undefined;
  }
  const remove = () => removeStackFile();
  process.once('SIGINT', remove);
  process.once('SIGTERM', remove);
  process.once('exit', remove);
  return file;
}

/** What became of the worker's commands when npm start stopped: its last line. */
function finalLine(worker: string, running: number, persisted: boolean): string {
  const queued = persisted
    ? 'commands still queued stay recorded and end RETRY (start_timeout) once the stack runs again'
    : 'commands still queued went with the in-memory stack';
  const ran =
    running === 0
      ? `no command was running on worker ${worker}`
      : `the ${running} command(s) running on worker ${worker} were interrupted and recorded CANCELLED`;
  return `npm start: stopped; ${ran}; ${queued}`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
