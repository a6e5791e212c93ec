// The worker agent: heartbeats, long-polls its queue, hands each command message to a slot, claim and run.
import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { apiRequest } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import type {
  ClaimResponse,
  WorkerHeartbeatRequest,
  WorkerHeartbeatResponse,
  WorkerMessage,
} from '../shared/commands/wire.ts';
import { ApiError } from '../shared/client/errors.ts';
import { retry } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import { claimCommand, newClaimToken } from './claim.ts';
import { MessageDeleter } from './messageDeleter.ts';
import { parseWorkerMessage } from './messages.ts';
import { WORKER_DEFAULTS, withDefaults } from './options.ts';
import { QueueAccess } from './queueAccess.ts';
import type { WorkerOptions } from './options.ts';
import { CommandRun } from './run.ts';
import { Slots } from './slots.ts';
import { readWorkerInfo } from './workerInfo.ts';

export interface StopOptions {
  /** Interrupt running commands rather than wait for them. @default WorkerOptions.interruptOnShutdown */
  interrupt?: boolean;
}

export interface RunningWorker {
  readonly name: string;
  readonly queueUrl: string;
  /** Commands running now. */
  readonly running: number;
  /**
   * Graceful stop: no new commands; running ones finish (or are interrupted). Resolves once all have
   * completed. Calling it again with {interrupt: true} interrupts what is still running.
   */
  stop(opts?: StopOptions): Promise<void>;
}

/** SQS long-poll wait. @default 20 s (the maximum) */
const RECEIVE_WAIT_SECONDS = 20;
/** A command message waiting locally for a slot is hidden this long, renewed at half of it. */
const WAITING_VISIBILITY_SECONDS = 60;
/** While draining (no polling), running commands heartbeat this often so an interrupt still arrives soon. */
const DRAIN_HEARTBEAT_MS = 1_000;
/** A failed receive (the queue or the network is down) is tried again after 0.5 s, doubling up to 10 s. */
export const QUEUE_POLL_RETRY: RetryPolicy = Object.freeze({ minMs: 500, maxMs: 10_000 });
/**
 * A first heartbeat that the API could not serve (5xx, 429, or no answer: an outage, a restart) is tried again
 * for a minute before the agent gives up; a refusal (401, 403, 404: a wrong token or name) ends it at once.
 */
export const FIRST_HEARTBEAT_RETRY: RetryPolicy = Object.freeze({
  minMs: 500,
  maxMs: 5_000,
  giveUpMs: 60_000,
});

function packageVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return json.version ?? 'unknown';
}

class Worker implements RunningWorker {
  readonly name: string;
  queueUrl = '';
  private readonly opts: Readonly<WorkerOptions & typeof WORKER_DEFAULTS>;
  private readonly connection: ApiConnection;
  private readonly basedir: string;
  private readonly queue: QueueAccess;
  private readonly version = packageVersion();
  /** The info (as JSON) the API last accepted: a heartbeat carries it again only when it changed. */
  private sentInfo: string | undefined;
  private readonly slots: Slots;
  private readonly deleter: MessageDeleter;
  private readonly runs = new Map<string, CommandRun>();
  /**
   * Claims that kept failing ('retry'): one of the tries may have landed with its answer lost. The message
   * comes back after its visibility timeout, and its claim then goes with the same token, to get that claim
   * back. Used only while no other handling of the same command is claiming (a duplicate delivery gets a
   * token of its own, so two deliveries never share one claim).
   */
  private readonly unsettledClaims = new Map<string, string>();
  /** Handlings of each command claiming now (a count: duplicate deliveries may overlap). */
  private readonly claiming = new Map<string, number>();
  /** Every message being handled (waiting for a slot, claiming, running): stop() waits for all. */
  private readonly handling = new Set<Promise<void>>();
  private stopping = false;
  /** Cuts the long poll short (a hurried stop). */
  private readonly pollAbort = new AbortController();
  /** Ends the wait between failed receives (any stop). */
  private readonly stopAbort = new AbortController();
  private polling: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;

  constructor(opts: WorkerOptions) {
    this.opts = withDefaults(WORKER_DEFAULTS, opts);
    this.name = opts.name;
    this.connection = { apiUrl: opts.apiUrl, token: opts.token };
    this.basedir = path.resolve(opts.basedir);
    this.queue = new QueueAccess(opts.sqs, (line) => this.log(`worker ${opts.name}: ${line}`));
    this.deleter = new MessageDeleter(
      () => this.queue.client,
      () => this.queueUrl,
      (line) => this.log(`worker ${opts.name}: ${line}`),
    );
    this.slots = new Slots(this.opts.concurrency);
  }

  get running(): number {
    return this.runs.size;
  }

  private log(line: string): void {
    this.opts.log(line);
  }

  /** The worker's SQS client (its queue credentials come with its heartbeats: queueAccess.ts). */
  private get sqs(): SQSClient {
    return this.queue.client;
  }

  async start(): Promise<void> {
    await mkdir(this.basedir, { recursive: true });
    const answer = await retry(() => this.heartbeat(), {
      policy: FIRST_HEARTBEAT_RETRY,
      signal: this.stopAbort.signal,
      isRetryable: (error) => !(error instanceof ApiError && error.status < 500 && error.status !== 429),
      onRetry: (error, waitMs) =>
        this.log(
          `worker ${this.name}: first heartbeat failed: ${(error as Error).message}; retrying in ${waitMs} ms`,
        ),
    });
    this.queueUrl = answer.queueUrl;
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((error: Error) =>
        this.log(`worker ${this.name}: heartbeat failed: ${error.message}`),
      );
    }, answer.heartbeatIntervalMs);
    this.log(
      `worker ${this.name}: polling ${this.queueUrl} (concurrency ${this.slots.size}, basedir ${this.basedir})`,
    );
    this.polling = this.pollLoop();
  }

  stop(opts: StopOptions = {}): Promise<void> {
    if (opts.interrupt ?? this.opts.interruptOnShutdown) {
      for (const run of this.runs.values()) run.interrupt('the worker is shutting down');
      // In a hurry: cut the long poll short (see drain() for what that may cost).
      this.pollAbort.abort();
    }
    this.stopped ??= this.drain();
    return this.stopped;
  }

  /**
   * A graceful stop lets the current long poll end by itself (up to 20 s) rather than abort it: SQS (and
   * fauxqs) may hand a message to a receive whose connection was just closed, and that message would
   * then stay hidden for its visibility timeout. What the last poll brings is handed back at once.
   */
  private async drain(): Promise<void> {
    this.stopping = true;
    this.stopAbort.abort();
    this.log(`worker ${this.name}: stopping; ${this.runs.size} command(s) still running`);
    this.slots.close();
    for (const run of this.runs.values()) run.sender.setHeartbeatMs(DRAIN_HEARTBEAT_MS);
    await this.polling;
    while (this.handling.size > 0) await Promise.all(this.handling);
    await this.deleter.flush();
    clearInterval(this.heartbeatTimer);
    this.queue.close();
    this.log(`worker ${this.name}: stopped`);
  }

  private async heartbeat(): Promise<WorkerHeartbeatResponse> {
    const asked = this.queue.wanted;
    const commands = [...this.opts.registry.keys()];
    // Read each time (a few small files): an admin may edit info/admin or info/host while the worker runs.
    const info = await readWorkerInfo({ basedir: this.basedir, version: this.version, commands });
    const infoText = JSON.stringify(info);
    const body: WorkerHeartbeatRequest = {
      commands,
      concurrency: this.slots.size,
      running: this.runs.size,
      version: this.version,
      ...(infoText !== this.sentInfo ? { info } : {}),
      ...(asked ? { credentials: true } : {}),
    };
    const answer = await apiRequest<WorkerHeartbeatResponse>(
      this.connection,
      'POST',
      `/v1/workers/${encodeURIComponent(this.name)}/heartbeat`,
      { body },
    );
    this.queue.accept(answer, asked);
    if (body.info) this.sentInfo = infoText;
    return answer;
  }

  // ---- the queue ----

  private async pollLoop(): Promise<void> {
    while (!this.stopping) {
      let messages: Message[];
      try {
        messages = await retry(() => this.receive(), {
          policy: QUEUE_POLL_RETRY,
          signal: this.stopAbort.signal,
          onRetry: (error, waitMs) => {
            const renew = this.queue.noteFailure(error)
              ? '; asking the next heartbeat for fresh queue access'
              : '';
            this.log(
              `worker ${this.name}: receiving from the queue failed: ${(error as Error).message}; retrying in ${waitMs} ms${renew}`,
            );
          },
        });
      } catch (error) {
        // Only a stop ends the retries (QUEUE_POLL_RETRY never gives up).
        if (this.stopAbort.signal.aborted) return;
        throw error;
      }
      // Stopping while this poll was out: anything it brought is handed back by handleCommand.
      for (const message of messages) {
        const handled = this.handleMessage(message).catch((error: Error) =>
          this.log(`worker ${this.name}: handling message ${message.MessageId} failed: ${error.message}`),
        );
        this.handling.add(handled);
        void handled.finally(() => this.handling.delete(handled));
      }
    }
  }

  /** One long poll. It asks for no more commands than free slots, but always polls: interrupts arrive on this queue too. */
  private async receive(): Promise<Message[]> {
    const answer = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
        MaxNumberOfMessages: Math.min(10, Math.max(1, this.slots.free)),
      }),
      { abortSignal: this.pollAbort.signal },
    );
    return answer.Messages ?? [];
  }

  /** Deletes go out in batches (MessageDeleter); a failed one comes back, gets 409 at its claim, and is deleted again. */
  private deleteMessage(message: Message): Promise<void> {
    return this.deleter.delete(message.ReceiptHandle);
  }

  private async setVisibility(message: Message, seconds: number): Promise<void> {
    try {
      await this.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.queueUrl,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      this.log(
        `worker ${this.name}: changing visibility of message ${message.MessageId} failed: ${(error as Error).message}`,
      );
    }
  }

  private async handleMessage(message: Message): Promise<void> {
    const parsed = parseWorkerMessage(message.Body);
    if (parsed === undefined) {
      this.log(`worker ${this.name}: deleting unreadable message ${message.MessageId}`);
      await this.deleteMessage(message);
      return;
    }
    if (parsed.type === 'interrupt') {
      const run = this.runs.get(parsed.commandId);
      if (run) run.interrupt(parsed.why);
      else this.log(`command ${parsed.commandId}: interrupt for a command not running here; ignored`);
      await this.deleteMessage(message);
      return;
    }
    await this.handleCommand(parsed, message);
  }

  private async handleCommand(
    message: Extract<WorkerMessage, { type: 'command' }>,
    raw: Message,
  ): Promise<void> {
    // While it waits for a slot, keep the message hidden so SQS does not hand it to us (or count a receive) again.
    const keepHidden = setInterval(
      () => void this.setVisibility(raw, WAITING_VISIBILITY_SECONDS),
      (WAITING_VISIBILITY_SECONDS / 2) * 1000,
    );
    let granted: boolean;
    try {
      granted = await this.slots.acquire();
    } finally {
      clearInterval(keepHidden);
    }
    if (!granted) {
      // Stopping: hand the message back at once for the next worker run.
      await this.setVisibility(raw, 0);
      return;
    }
    try {
      const claim = await this.claim(message.commandId);
      // The claim settles the message either way. Its delete waits for a batch (MessageDeleter), never
      // for the slot: stop() flushes what is still waiting.
      if (claim === 'drop') {
        void this.deleteMessage(raw);
        return;
      }
      if (claim === 'retry') return;
      void this.deleteMessage(raw);
      await this.execute(claim, message.secrets);
    } finally {
      this.slots.release();
    }
  }

  private async claim(commandId: string): Promise<Awaited<ReturnType<typeof claimCommand>>> {
    const reuse = this.claiming.has(commandId) ? undefined : this.unsettledClaims.get(commandId);
    const token = reuse ?? newClaimToken();
    this.claiming.set(commandId, (this.claiming.get(commandId) ?? 0) + 1);
    try {
      const claim = await claimCommand(this.connection, commandId, this.opts.log, token);
      if (claim === 'retry') this.unsettledClaims.set(commandId, token);
      else if (this.unsettledClaims.get(commandId) === token) this.unsettledClaims.delete(commandId);
      return claim;
    } finally {
      const left = this.claiming.get(commandId)! - 1;
      if (left === 0) this.claiming.delete(commandId);
      else this.claiming.set(commandId, left);
    }
  }

  // ---- running one command ----

  private execute(claim: ClaimResponse, secrets?: Record<string, string>): Promise<void> {
    const run = new CommandRun(claim, {
      ...(secrets ? { secrets } : {}),
      connection: this.connection,
      registry: this.opts.registry,
      basedir: this.basedir,
      bufferBytes: this.opts.bufferBytes,
      bufferMs: this.opts.bufferMs,
      heartbeatMs: this.stopping ? DRAIN_HEARTBEAT_MS : (claim.heartbeatTimeout * 1000) / 3,
      log: this.opts.log,
    });
    this.runs.set(claim.commandId, run);
    return run.run().finally(() => this.runs.delete(claim.commandId));
  }
}

/** Starts a worker: learns its queue with a first heartbeat, then polls it until stop(). */
export async function runWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const worker = new Worker(opts);
  await worker.start();
  return worker;
}
