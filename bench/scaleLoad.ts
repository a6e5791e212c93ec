// Owns the scale bench's load: quiet and chatty commands kept running on the local stack through the HTTP API, as workers drive them.
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { LocalStack } from '../local/index.ts';
import { awsEndpoint, sqsClientOf } from '../shared/aws/clients.ts';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { runWatchdog } from '../shared/commands/watchdog.ts';
import { runWithEnv } from '../shared/env.ts';
import { HEARTBEAT_INTERVAL_MS } from '../shared/workers/types.ts';

/**
 * The load of the partition tally: `workers` simulated workers, each holding its share of `quiet` and
 * `chatty` running commands, all through the stack's HTTP API (gateway, authorizer, handlers), as
 * worker/worker.ts drives them:
 *   - a presence heartbeat per worker every heartbeatIntervalMs (the heartbeat answer's: HEARTBEAT_INTERVAL_MS);
 *   - a quiet command sends an empty batch every heartbeat timeout / 3 (worker.ts), a chatty one a batch of
 *     one stdout line every `chattyEveryMs`;
 *   - the watchdog runs every `watchdogEveryMs`, as the stack's schedule would (it is off in this stack).
 * Time is compressed by `compression`: the commands' heartbeat timeout is 60 s / compression, so deadlines
 * move `compression` times as often as with the default; the watchdog's cadence is compressed alike. Worker
 * heartbeats and chatty output are not compressed: their load is per worker and per command, not per count.
 */
export interface LoadOptions {
  workers: number;
  quiet: number;
  chatty: number;
  chattyEveryMs: number;
  compression: number;
  seconds: number;
}

interface RunningCommand {
  commandId: string;
  worker: SimWorker;
  chatty: boolean;
  seq: number;
}

interface SimWorker {
  name: string;
  token: string;
  queueUrl: string;
}

export interface LoadRun {
  /** Commands started; all of them should run through the measured window. */
  started: number;
  /** Commands still running when the window ended (the others were ended: their heartbeats were late). */
  running: number;
  failureSamples: string[];
  /** Requests each route answered in the window, and those that were not 2xx. */
  requests: Record<string, number>;
  failures: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutSeconds: number;
}

/** The default heartbeat timeout, seconds (shared/commands/types.ts DEFAULT_TIMEOUTS). */
export const DEFAULT_HEARTBEAT_SECONDS = 60;

export class ApiCallError extends Error {
  constructor(
    readonly route: string,
    readonly status: number,
    detail: string,
  ) {
    super(`${route}: ${status} ${detail}`);
    this.name = 'ApiCallError';
  }
}

class Api {
  readonly requests: Record<string, number> = {};
  failures = 0;
  /** The first few failures, as evidence (a 409 means the command had ended: its heartbeats came too late). */
  readonly failureSamples: string[] = [];
  constructor(private readonly apiUrl: string) {}

  async call<T>(token: string, method: string, path: string, route: string, body?: unknown): Promise<T> {
    const answer = await fetch(`${this.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    this.requests[route] = (this.requests[route] ?? 0) + 1;
    const text = await answer.text();
    if (!answer.ok) {
      this.failures++;
      if (this.failureSamples.length < 5)
        this.failureSamples.push(`${route} ${answer.status} ${text.slice(0, 120)}`);
      throw new ApiCallError(`${method} ${path}`, answer.status, text.slice(0, 200));
    }
    return (text ? JSON.parse(text) : {}) as T;
  }
}

/** Every `everyMs` (first after a random share of it), until `stop` is set; errors are counted, not thrown. */
async function every(everyMs: number, stop: { done: boolean }, act: () => Promise<unknown>): Promise<void> {
  await sleep(Math.random() * everyMs);
  while (!stop.done) {
    const started = performance.now();
    await act().catch(() => undefined);
    await sleep(Math.max(0, everyMs - (performance.now() - started)));
  }
}

/**
 * Starts the load, calls `measure` once every command runs (it returns when its window ends), then ends the
 * commands. `measure` gets the count running.
 */
export async function runLoad(
  stack: LocalStack,
  opts: LoadOptions,
  measure: (running: number) => Promise<void>,
  progress: (line: string) => void,
): Promise<LoadRun> {
  const api = new Api(stack.apiUrl);
  const heartbeatTimeoutSeconds = Math.max(1, Math.round(DEFAULT_HEARTBEAT_SECONDS / opts.compression));
  const sqs = sqsClientOf(awsEndpoint(stack.env));
  const workers: SimWorker[] = [];
  let heartbeatIntervalMs = HEARTBEAT_INTERVAL_MS;
  for (let i = 0; i < opts.workers; i++) {
    const name = `scale-${process.pid}-${i}`;
    const registered = await api.call<{ token: string; queueUrl: string }>(
      stack.tokens.admin,
      'POST',
      '/v1/workers',
      'register',
      { name },
    );
    const worker = { name, token: registered.token, queueUrl: registered.queueUrl };
    const beat = await api.call<{ heartbeatIntervalMs?: number }>(
      worker.token,
      'POST',
      `/v1/workers/${name}/heartbeat`,
      'worker heartbeat',
      { commands: ['shell'] },
    );
    heartbeatIntervalMs = beat.heartbeatIntervalMs ?? heartbeatIntervalMs;
    workers.push(worker);
  }
  const stop = { done: false };
  const loops: Promise<void>[] = workers.map((worker) =>
    every(heartbeatIntervalMs, stop, () =>
      api.call(worker.token, 'POST', `/v1/workers/${worker.name}/heartbeat`, 'worker heartbeat', {
        commands: ['shell'],
      }),
    ),
  );

  // Start and claim every command, a few at a time (as workers' polls would).
  const total = opts.quiet + opts.chatty;
  progress(`starting ${opts.quiet} quiet and ${opts.chatty} chatty commands on ${opts.workers} workers`);
  const running: RunningCommand[] = [];
  for (let i = 0; i < total; i++) {
    const worker = workers[i % workers.length]!;
    const { commandId } = await api.call<{ commandId: string }>(
      stack.tokens.client,
      'POST',
      '/v1/commands',
      'start',
      {
        worker: worker.name,
        command: 'shell',
        args: { command: ['true'] },
        timeouts: { heartbeat: heartbeatTimeoutSeconds },
      },
    );
    running.push({ commandId, worker, chatty: i >= opts.quiet, seq: 0 });
  }
  // Each command starts its own rhythm as soon as it is claimed, as a worker's run does: a command claimed
  // early must not wait for the others' claims, or its deadline (claim + heartbeat timeout) passes first.
  const quietEveryMs = (heartbeatTimeoutSeconds * 1000) / 3;
  const drive = (command: RunningCommand) =>
    every(command.chatty ? opts.chattyEveryMs : quietEveryMs, stop, async () => {
      const updates = command.chatty ? [[{ stdout: `line ${command.seq}\n` }, command.seq]] : [];
      await api.call(
        command.worker.token,
        'POST',
        `/v1/commands/${command.commandId}/updates`,
        command.chatty ? 'updates (chatty)' : 'updates (quiet heartbeat)',
        { updates },
      );
      if (command.chatty) command.seq++;
    });
  const byId = new Map(running.map((command) => [command.commandId, command]));
  for (const worker of workers) {
    const mine = new Set(running.filter((command) => command.worker === worker).map((c) => c.commandId));
    while (mine.size > 0) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: worker.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of Messages) {
        const { commandId } = JSON.parse(message.Body ?? '{}') as { commandId?: string };
        if (!commandId || !mine.delete(commandId)) continue;
        await api.call(worker.token, 'POST', `/v1/commands/${commandId}/start`, 'claim');
        loops.push(drive(byId.get(commandId)!));
      }
      if (Messages.length > 0)
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: worker.queueUrl,
            Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
    }
  }
  // A first run before the window: it reads every shard's cursor and writes the ones never written (once).
  await runWithEnv(stack.env, () => runWatchdog(commandsContextFromEnv()));
  const watchdogEveryMs = 60_000 / opts.compression;
  loops.push(
    every(watchdogEveryMs, stop, () => runWithEnv(stack.env, () => runWatchdog(commandsContextFromEnv()))),
  );

  // One heartbeat window for every deadline to reach its steady rhythm, then the measured window.
  progress(`all ${total} running; settling for one heartbeat timeout (${heartbeatTimeoutSeconds} s)`);
  await sleep(heartbeatTimeoutSeconds * 1000);
  const before = { ...api.requests };
  const failuresBefore = api.failures;
  await measure(total);
  const requests = Object.fromEntries(
    Object.entries(api.requests).map(([route, count]) => [route, count - (before[route] ?? 0)]),
  );
  const failures = api.failures - failuresBefore;
  stop.done = true;
  await Promise.all(loops);
  let stillRunning = 0;
  for (const command of running) {
    const view = await api.call<{ status?: string }>(
      stack.tokens.client,
      'GET',
      `/v1/commands/${command.commandId}`,
      'read',
    );
    if (view.status === 'running') stillRunning++;
  }
  progress('completing every command');
  for (const command of running)
    await api
      .call(command.worker.token, 'POST', `/v1/commands/${command.commandId}/complete`, 'complete', {
        lastSeq: command.seq - 1,
      })
      .catch(() => undefined);
  return {
    started: total,
    running: stillRunning,
    failureSamples: api.failureSamples,
    requests,
    failures,
    heartbeatIntervalMs,
    heartbeatTimeoutSeconds,
  };
}
