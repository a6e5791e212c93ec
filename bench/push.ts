// `npm run bench -- push`: how soon a client learns of completion and of an output line, by the fast path and by the stream.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalStack } from '../local/index.ts';
import type { LocalStack, LocalStackOptions } from '../local/index.ts';
import { dynamoDocumentClient } from '../shared/aws/clients.ts';
import { CommandsClient } from '../shared/client/CommandsClient.ts';
import { RemoteCommand } from '../shared/client/RemoteCommand.ts';
import { pushContextFromEnv, pushTally } from '../shared/push/context.ts';
import { decodeFrame, encodeFrame } from '../shared/push/wire.ts';
import type { StatusFrame } from '../shared/push/wire.ts';
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
 *   createdAt → completedAt of that command; and as many again, interleaved, whose floor is taken (floorProbe);
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

/**
 * The floor of a pushed completion: the earliest any client could know is the ending write's answer (then it
 * is durable) plus one bare post. Both are timed here, under the load of the same run: the stack's handlers
 * share this process's DynamoDB client, and a middleware notes when an armed command's ending UpdateItem (the
 * one that sets completedAt) answers and posts a completion-sized status frame, that very moment, to an idle
 * connection of this process's own, timed to its arrival there. That post shares the event loop with the
 * fast path's own, so the floor is taken on every other command, and the client figure on the rest.
 */
interface FloorProbe {
  /** The next ending write of `commandId` gets a bare post the moment it answers. */
  arm(commandId: string): void;
  /** performance.now() when the armed write answered, and its bare post's ms to arrival. */
  taken(): Promise<{ answeredAt: number; postMs: number } | undefined>;
  stop(): void;
}

const PROBE_MIDDLEWARE = 'benchPushEndingWrite';

/** A completion's status frame as the fast path posts it for a trivial command: its size, not its news. */
const COMPLETION_SIZED: StatusFrame = {
  type: 'status',
  commandId: '0'.repeat(32),
  worker: 'benchpush',
  command: 'shell',
  status: 'complete',
  acked: 2,
  createdAt: 1_764_000_000_000,
  startedAt: 1_764_000_000_030,
  completedAt: 1_764_000_000_080,
  results: 0,
  rc: 0,
  failure: null,
  updates: [
    [{ header: 'program finished with exit code 0\n' }, 0],
    [{ rc: 0 }, 1],
    [{ elapsed: 0.012 }, 2],
  ],
};

async function floorProbe(stack: LocalStack): Promise<FloorProbe> {
  const known = new Set(stack.push!.connections.connectionIds());
  const { WebSocket } = (await import('ws')) as unknown as {
    WebSocket: new (url: string, protocols: string[]) => RawSocket;
  };
  const socket = new WebSocket(stack.push!.url, ['bbs.v1', `bbs.token.${stack.tokens.client}`]);
  await new Promise<void>((resolve) => socket.once('open', resolve));
  const connectionId = stack.push!.connections.connectionIds().find((id) => !known.has(id))!;
  let arrived: ((at: number) => void) | undefined;
  socket.on('message', () => arrived?.(performance.now()));
  const push = pushContextFromEnv(stack.env)!;
  const frame = new TextEncoder().encode(encodeFrame(COMPLETION_SIZED));
  let armed: string | undefined;
  let taken: Promise<{ answeredAt: number; postMs: number }> | undefined;
  const db = dynamoDocumentClient(stack.env);
  db.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const input = args.input as { UpdateExpression?: string; Key?: { pk?: unknown } };
      const pk = input.Key?.pk;
      const key = typeof pk === 'string' ? pk : (pk as { S?: string } | undefined)?.S;
      if (
        armed !== undefined &&
        key === `CMD#${armed}` &&
        input.UpdateExpression?.includes('completedAt =')
      ) {
        armed = undefined;
        const answeredAt = performance.now();
        const arrival = new Promise<number>((resolve) => (arrived = resolve));
        void push.api.post(connectionId, frame);
        taken = arrival.then((at) => ({ answeredAt, postMs: at - answeredAt }));
      }
      return result;
    },
    { step: 'initialize', name: PROBE_MIDDLEWARE, override: true },
  );
  return {
    arm(commandId) {
      armed = commandId;
      taken = undefined;
    },
    taken: async () => taken,
    stop() {
      db.middlewareStack.remove(PROBE_MIDDLEWARE);
      socket.close();
    },
  };
}

/** A trivial command that arms the floor probe once its id is known (its POST answered; its end is far off). */
class ProbedCommand extends RemoteCommand {
  constructor(private readonly probe: FloorProbe | undefined) {
    super('shell', { command: ['true'], workdir: '.' });
  }
  protected override async start(): Promise<void> {
    await super.start();
    this.probe?.arm(this.commandId!);
  }
}

interface CompletionSamples {
  clientMs: number[];
  serverMs: number[];
  /** The commands the floor was taken on: before the POST → the ending write answered; a bare post; their sum. */
  floor: { writtenMs: number[]; postMs: number[]; floorMs: number[]; clientMs: number[]; serverMs: number[] };
  /** Of the floor's write: before the POST → createdAt, and completedAt → the ending write answered (epoch ms). */
  inboundMs: number[];
  endingWriteMs: number[];
}

/**
 * Each command's client ms (POST → run() resolved) and server ms (createdAt → completedAt); with push, as
 * many again, interleaved, whose floor is taken.
 */
async function completions(
  stack: LocalStack,
  count: number,
  pushUrl: string | false,
): Promise<CompletionSamples> {
  const client = new CommandsClient({ apiUrl: stack.apiUrl, token: stack.tokens.client, pushUrl });
  const probe = pushUrl === false ? undefined : await floorProbe(stack);
  const samples: CompletionSamples = {
    clientMs: [],
    serverMs: [],
    floor: { writtenMs: [], postMs: [], floorMs: [], clientMs: [], serverMs: [] },
    inboundMs: [],
    endingWriteMs: [],
  };
  // One unmeasured command first: the socket opens, the functions load.
  for (let i = -1; i < (probe ? 2 * count : count); i++) {
    const withFloor = probe !== undefined && i % 2 === 1;
    const cmd = new ProbedCommand(withFloor ? probe : undefined);
    const started = performance.now();
    await cmd.run(client, 'benchpush');
    const ended = performance.now();
    if (i < 0) continue;
    const serverMs = Date.parse(cmd.view!.completedAt!) - Date.parse(cmd.view!.createdAt);
    const into = withFloor ? samples.floor : samples;
    into.clientMs.push(ended - started);
    into.serverMs.push(serverMs);
    if (!withFloor) continue;
    const floor = await probe.taken();
    const written = (floor?.answeredAt ?? Number.NaN) - started;
    samples.floor.writtenMs.push(written);
    samples.inboundMs.push(Date.parse(cmd.view!.createdAt) - (performance.timeOrigin + started));
    const answered = performance.timeOrigin + (floor?.answeredAt ?? Number.NaN);
    samples.endingWriteMs.push(answered - Date.parse(cmd.view!.completedAt!));
    samples.floor.postMs.push(floor?.postMs ?? Number.NaN);
    samples.floor.floorMs.push(written + (floor?.postMs ?? Number.NaN));
  }
  probe?.stop();
  client.close();
  return samples;
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
    const floorP50 = p50(pushed.floor.floorMs);
    const floorServerP50 = p50(pushed.floor.serverMs);
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
        name: 'completion: floor p50 (POST → ending write answered + a bare post) / server p50',
        value: floorP50 / floorServerP50,
        unit: '×',
      },
      { name: 'completion: floor p50 (other commands)', value: floorP50, unit: 'ms', floor: floorServerP50 },
      {
        name: 'completion: POST → ending write answered p50',
        value: p50(pushed.floor.writtenMs),
        unit: 'ms',
      },
      { name: 'of which: before the POST → createdAt p50', value: p50(pushed.inboundMs), unit: 'ms' },
      {
        name: 'of which: completedAt → the ending write answered p50',
        value: p50(pushed.endingWriteMs),
        unit: 'ms',
      },
      { name: 'completion: a bare post, from that answer p50', value: p50(pushed.floor.postMs), unit: 'ms' },
      {
        name: 'completion: client (push) p50 on the floor commands',
        value: p50(pushed.floor.clientMs),
        unit: 'ms',
        floor: floorServerP50,
      },
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
        completionFloorWrittenMs: pushed.floor.writtenMs,
        completionInboundMs: pushed.inboundMs,
        completionEndingWriteMs: pushed.endingWriteMs,
        completionFloorPostMs: pushed.floor.postMs,
        completionFloorMs: pushed.floor.floorMs,
        completionFloorClientMs: pushed.floor.clientMs,
        completionFloorServerMs: pushed.floor.serverMs,
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
        'every floor was taken': pushed.floor.floorMs.every((ms) => Number.isFinite(ms)),
        'every line reached the subscriber by the fast path': fast.received === lines,
        'every line reached the subscriber by the stream': stream.received === lines,
      },
      details: { perLine: { fast: fast.perLine, stream: stream.perLine }, counts },
    };
  },
};
