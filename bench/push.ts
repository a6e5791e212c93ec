// `npm run bench -- push`: how soon a client learns of completion and of an output line, by the fast path and by the stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack } from '../local/index.ts';
import type { LocalStack, LocalStackOptions } from '../local/index.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import { RemoteCommand } from '../shared/client/RemoteCommand.ts';
import { pushTally } from '../shared/push/context.ts';
import { decodeFrame } from '../shared/push/wire.ts';
import type { Benchmark, BenchContext } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { pushCostFigures } from './lib/pushCosts.ts';
import type { PushUnitCounts } from './lib/pushCosts.ts';
import type { BenchOutcome, Figure } from './lib/report.ts';
import { summarize } from './lib/stats.ts';

/*
 * Three local stacks, one at a time, each with a worker in its process (the stack's own, as `npm start` runs it):
 * - both paths on (as deployed): N trivial commands run with RemoteCommand.run() push-first, and the same number
 *   polling; each command's client time (before the POST → run() resolved) against the server's own
 *   createdAt → completedAt of that command;
 * - the fast path alone, then the stream alone: a fake worker (this process, over the HTTP API) posts one output
 *   line at a time to a claimed command that a raw socket follows; a line's latency is from just before its POST
 *   leaves (its arrival at the API, on loopback) to the frame that carries it. The push counts per line price it.
 */

interface WorkerToken {
  name: string;
  token: string;
}

async function api(
  stack: LocalStack,
  token: string,
  method: string,
  route: string,
  body?: unknown,
): Promise<unknown> {
  const answer = await fetch(`${stack.apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await answer.text();
  if (!answer.ok) throw new Error(`${method} ${route}: ${answer.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function withStack<T>(
  push: LocalStackOptions['push'],
  work: (stack: LocalStack) => Promise<T>,
): Promise<T> {
  const basedir = await mkdtemp(path.join(tmpdir(), 'bbs-bench-push-'));
  const stack = await startLocalStack({ pollWaitSeconds: 1, worker: { basedir, name: 'benchpush' }, push });
  try {
    return await work(stack);
  } finally {
    await stack.stop();
    await rm(basedir, { recursive: true, force: true });
  }
}

/** Each command's client ms (POST → run() resolved) and server ms (createdAt → completedAt). */
async function completions(
  stack: LocalStack,
  count: number,
  pushUrl: string | false,
): Promise<{ clientMs: number[]; serverMs: number[] }> {
  const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client, pushUrl });
  const clientMs: number[] = [];
  const serverMs: number[] = [];
  // One unmeasured command first: the socket opens, the functions load.
  for (let i = -1; i < count; i++) {
    const cmd = new RemoteCommand('shell', { command: ['true'], workdir: '.' });
    const started = Date.now();
    await cmd.run(client, 'benchpush');
    const ended = Date.now();
    if (i < 0) continue;
    clientMs.push(ended - started);
    serverMs.push(Date.parse(cmd.view!.completedAt!) - Date.parse(cmd.view!.createdAt));
  }
  client.close();
  return { clientMs, serverMs };
}

interface RawSocket {
  send(data: string): void;
  close(): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  once(event: 'open', listener: () => void): void;
}

/** Line latencies through a claimed command, and the push counts per line. */
async function lineLatencies(stack: LocalStack, lines: number, spacingMs: number) {
  const admin = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.admin, pushUrl: false });
  const worker: WorkerToken = await admin.registerWorker(`bench-lines-${Date.now().toString(36)}`);
  await api(stack, worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, { commands: ['shell'] });
  const { commandId } = (await api(stack, stack.tokens.client, 'POST', '/v1/commands', {
    worker: worker.name,
    command: 'shell',
    args: { command: ['true'] },
  })) as { commandId: string };
  await api(stack, worker.token, 'POST', `/v1/commands/${commandId}/start`);
  const { WebSocket } = (await import('ws')) as unknown as {
    WebSocket: new (url: string, protocols: string[]) => RawSocket;
  };
  const socket = new WebSocket(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);
  const seen = new Map<number, number>();
  let subscribed: () => void = () => undefined;
  const armed = new Promise<void>((resolve) => (subscribed = resolve));
  socket.on('message', (data) => {
    const at = performance.now();
    const frame = decodeFrame(String(data));
    if (frame?.type === 'subscribed') subscribed();
    if (frame?.type === 'updates') for (const [, seq] of frame.updates) if (!seen.has(seq)) seen.set(seq, at);
  });
  await new Promise<void>((resolve) => socket.once('open', resolve));
  socket.send(JSON.stringify({ action: 'subscribe', commandId }));
  await armed;
  const before = { ...stack.tallies().functions.pushFanout };
  const pushBefore = pushTally(stack.env);
  const sent: number[] = [];
  for (let seq = 0; seq < lines; seq++) {
    sent.push(performance.now());
    await api(stack, worker.token, 'POST', `/v1/commands/${commandId}/updates`, {
      updates: [[{ stdout: `line ${seq}\n` }, seq]],
    });
    await new Promise((resolve) => setTimeout(resolve, spacingMs));
  }
  const deadline = Date.now() + 5_000;
  while (seen.size < lines && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  socket.close();
  const after = stack.tallies().functions.pushFanout;
  const pushAfter = pushTally(stack.env);
  const latencies = sent.map((at, seq) => (seen.get(seq) ?? Number.NaN) - at);
  return {
    latencies,
    received: seen.size,
    perLine: {
      queries: (pushAfter.queries - pushBefore.queries) / lines,
      posts: (pushAfter.posted - pushBefore.posted) / lines,
      fanoutInvocations: ((after?.invocations ?? 0) - (before?.invocations ?? 0)) / lines,
      fanoutMs: ((after?.durationMs ?? 0) - (before?.durationMs ?? 0)) / lines,
    },
  };
}

const p50 = (values: number[]) => summarize(values.filter((v) => Number.isFinite(v))).p50;

export const push: Benchmark = {
  name: 'push',
  title: 'Push: completion and output-line latency to a subscribed client, fast path and stream',
  async run(ctx: BenchContext): Promise<BenchOutcome> {
    const commands = size(ctx, 30, 3);
    const lines = size(ctx, 50, 5);
    const spacingMs = 100;
    ctx.progress(`completion: ${commands} commands push-first, ${commands} polling`);
    const { pushed, polled } = await withStack({}, async (stack) => ({
      pushed: await completions(stack, commands, stack.push!.url),
      polled: await completions(stack, commands, false),
    }));
    ctx.progress(`lines: ${lines} by the fast path alone`);
    const fast = await withStack({ stream: false }, (stack) => lineLatencies(stack, lines, spacingMs));
    ctx.progress(`lines: ${lines} by the stream alone`);
    const stream = await withStack({ fastPath: false }, (stack) => lineLatencies(stack, lines, spacingMs));

    const clientP50 = p50(pushed.clientMs);
    const serverP50 = p50(pushed.serverMs);
    const counts: PushUnitCounts = {
      fast: { queries: fast.perLine.queries, posts: fast.perLine.posts, postMs: 6 },
      stream: {
        queries: stream.perLine.queries,
        posts: stream.perLine.posts,
        fanoutInvocations: stream.perLine.fanoutInvocations,
        fanoutGbSeconds: (stream.perLine.fanoutMs / 1000) * 0.25,
      },
    };
    const figures: Figure[] = [
      {
        name: 'completion: client (push) p50 / server POST→completedAt p50',
        value: clientP50 / serverP50,
        unit: '×',
        target: { op: '<=', value: 1.2 },
      },
      { name: 'completion: client (push) p50', value: clientP50, unit: 'ms', floor: serverP50 },
      {
        name: 'completion: client (polling) p50',
        value: p50(polled.clientMs),
        unit: 'ms',
        floor: p50(polled.serverMs),
      },
      {
        name: 'line: API → subscriber p50, fast path',
        value: p50(fast.latencies),
        unit: 'ms',
        target: { op: '<=', value: 100 },
      },
      {
        name: 'line: API → subscriber p50, stream only (local poller)',
        value: p50(stream.latencies),
        unit: 'ms',
      },
      ...pushCostFigures(counts),
    ];
    return {
      params: { commands, lines, spacingMs, streamPollMs: 50 },
      figures,
      samples: {
        completionClientPushMs: pushed.clientMs,
        completionServerPushMs: pushed.serverMs,
        completionClientPollMs: polled.clientMs,
        completionServerPollMs: polled.serverMs,
        lineFastMs: fast.latencies,
        lineStreamMs: stream.latencies,
      },
      floor: {
        description: "the server's own POST → completedAt of the same commands (createdAt to completedAt)",
        samples: { serverMs: pushed.serverMs },
      },
      checks: {
        'every line reached the subscriber by the fast path': fast.received === lines,
        'every line reached the subscriber by the stream': stream.received === lines,
      },
      details: { perLine: { fast: fast.perLine, stream: stream.perLine }, counts },
    };
  },
};
