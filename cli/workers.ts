// `bbs workers` and `bbs worker register|rotate|delete NAME`: worker administration from the terminal.
import * as ENV from '../shared/config.ts';
import { apiRequest } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import type { WorkerList } from '../shared/workers/list.ts';
import type { RegisteredWorker } from '../shared/workers/types.ts';
import { CONNECTION_OPTIONS, connectionFrom, integerOption, parse, positionalsOf } from './args.ts';
import { EXIT } from './exitCodes.ts';
import { table } from './inspect.ts';
import type { Io } from './io.ts';

/** The subcommands of `bbs worker` that administer; any other argv runs the agent (worker.ts). */
export const WORKER_ADMIN = new Set(['register', 'rotate', 'delete']);

/** `bbs workers [--limit N] [--cursor C] [--json]`: one page of the registered workers (admin or client token). */
export async function workersCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('workers', argv, {
    ...CONNECTION_OPTIONS,
    limit: { type: 'string' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  });
  positionalsOf('workers', positionals, []);
  const limit = integerOption('limit', values.limit, 1);
  const query = new URLSearchParams();
  if (limit !== undefined) query.set('limit', String(limit));
  if (values.cursor !== undefined) query.set('cursor', values.cursor);
  const search = query.size > 0 ? `?${query}` : '';
  const page = await apiRequest<WorkerList>(connectionFrom(values, io.env), 'GET', `/v1/workers${search}`);
  if (values.json) {
    await io.writeOut(`${JSON.stringify(page, null, 2)}\n`);
    return EXIT.ok;
  }
  const rows = page.workers.map((w) => [
    w.name,
    w.presence,
    w.running === null ? '-' : `${w.running}/${w.concurrency ?? '?'}`,
    w.lastSeenAt ?? 'never',
    w.version ?? '-',
  ]);
  await io.writeOut(
    rows.length === 0
      ? 'no workers registered (bbs worker register NAME)\n'
      : table([['NAME', 'PRESENCE', 'RUNNING', 'LAST SEEN', 'VERSION'], ...rows]),
  );
  if (page.next) await io.writeErr(`more: bbs workers --cursor ${page.next}\n`);
  return EXIT.ok;
}

/**
 * `bbs worker register|rotate|delete NAME` with an admin token: --token, else BBS_ADMIN_TOKEN (npm start
 * exports it), else BBS_TOKEN.
 */
export async function workerAdminCommand(argv: string[], io: Io): Promise<number> {
  const [action, ...rest] = argv;
  const subcommand = `worker ${action}`;
  const { values, positionals } = parse(subcommand, rest, {
    ...CONNECTION_OPTIONS,
    json: { type: 'boolean' },
  });
  const [name] = positionalsOf(subcommand, positionals, ['name']);
  const connection = adminConnection(values, io.env);
  if (action === 'delete') {
    await apiRequest(connection, 'DELETE', `/v1/workers/${encodeURIComponent(name!)}`, { text: true });
    await io.writeOut(
      values.json
        ? `${JSON.stringify({ name, deleted: true })}\n`
        : `worker ${name} deleted (its token and queue with it)\n`,
    );
    return EXIT.ok;
  }
  const registered = await apiRequest<RegisteredWorker>(connection, 'POST', '/v1/workers', {
    body: action === 'rotate' ? { name, rotate: true } : { name },
  });
  await io.writeOut(
    values.json
      ? `${JSON.stringify(registered, null, 2)}\n`
      : describeRegistered(registered, connection, action!),
  );
  return EXIT.ok;
}

function adminConnection(
  values: { 'api-url'?: string; token?: string },
  env: NodeJS.ProcessEnv,
): ApiConnection {
  const token = values.token ?? env[ENV.adminToken] ?? env[ENV.token];
  return connectionFrom({ ...values, ...(token === undefined ? {} : { token }) }, env, 'admin');
}

/** The token once, and the line that starts the worker with it. */
function describeRegistered(worker: RegisteredWorker, connection: ApiConnection, action: string): string {
  const what = action === 'rotate' ? 'has a new token (the old one no longer works)' : 'is registered';
  return `worker ${worker.name} ${what}
token  ${worker.token}
queue  ${worker.queueUrl}

The token is shown once. Start the worker on its build machine:
  ${ENV.apiUrl}=${connection.apiUrl} ${ENV.workerToken}=${worker.token} bbs worker --name ${worker.name} --basedir DIR
`;
}
