import { mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { sqsClient } from '../shared/aws/clients.ts';
import { ApiError, apiRequest } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import type {
  ClaimResponse,
  CommandUpdate,
  CompleteRequest,
  WorkerHeartbeatRequest,
  WorkerHeartbeatResponse,
  WorkerMessage,
} from '../shared/commands/wire.ts';
import { defaultRegistry } from './commands/registry.ts';
import type { CommandRegistry } from './commands/registry.ts';
import type { StartedCommand } from './commands/types.ts';
import { CommandStartError } from './errors.ts';
import { stderrLogSink } from './log.ts';
import type { WorkerLogSink } from './log.ts';
import { MessageDeleter } from './messageDeleter.ts';
import { parseWorkerMessage } from './messages.ts';
import { UpdateSender } from './updateSender.ts';

export interface WorkerOptions {
  apiUrl: string;
  name: string;
  /** The worker's bearer token (POST /v1/workers shows it once). Never logged. */
  token: string;
  /** Every workdir and path is resolved inside this directory; it is created when missing. */
  basedir: string;
  /** Commands that run at once. @default 1 */
  concurrency?: number;
  /** Send output once this many bytes wait. @default 65536 */
  bufferBytes?: number;
  /** Send output at most this long after it was produced, in ms. @default 100 */
  bufferMs?: number;
  /** stop() interrupts running commands instead of letting them finish. @default false */
  interruptOnShutdown?: boolean;
  /** Progress lines (one per command start and finish, and problems). @default a timestamped line on stderr */
  log?: WorkerLogSink;
  /** The commands this worker runs. @default shell, mkdir, rmdir, cpdir, stat, glob, listdir, rmfile */
  registry?: CommandRegistry;
  /** The SQS client for the worker's queue. @default sqsClient() (endpoint and credentials from the environment) */
  sqs?: SQSClient;
}

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
const CLAIM_ATTEMPTS = 5;

function packageVersion(): string {
  const json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return json.version ?? 'unknown';
}

interface Execution {
  interrupt(why: string): void;
  sender: UpdateSender;
}

class Worker implements RunningWorker {
  readonly name: string;
  queueUrl = '';
  private readonly connection: ApiConnection;
  private readonly basedir: string;
  private readonly concurrency: number;
  private readonly bufferBytes: number;
  private readonly bufferMs: number;
  private readonly interruptOnShutdown: boolean;
  private readonly log: WorkerLogSink;
  private readonly registry: CommandRegistry;
  private readonly sqs: SQSClient;
  private readonly version = packageVersion();
  private readonly executions = new Map<string, Execution>();
  /** Every message being handled (waiting for a slot, claiming, running): stop() waits for all. */
  private readonly handling = new Set<Promise<void>>();
  private readonly slotWaiters: Array<(granted: boolean) => void> = [];
  private slotsInUse = 0;
  private waitingMessages = 0;
  private stopping = false;
  private readonly pollAbort = new AbortController();
  private polling: Promise<void> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;
  private readonly deleter: MessageDeleter;

  constructor(opts: WorkerOptions) {
    this.name = opts.name;
    this.connection = { apiUrl: opts.apiUrl, token: opts.token };
    this.basedir = path.resolve(opts.basedir);
    this.concurrency = opts.concurrency ?? 1;
    this.bufferBytes = opts.bufferBytes ?? 64 * 1024;
    this.bufferMs = opts.bufferMs ?? 100;
    this.interruptOnShutdown = opts.interruptOnShutdown ?? false;
    this.log = opts.log ?? stderrLogSink;
    this.registry = opts.registry ?? defaultRegistry();
    this.sqs = opts.sqs ?? sqsClient();
    this.deleter = new MessageDeleter(
      this.sqs,
      () => this.queueUrl,
      (line) => this.log(`worker ${opts.name}: ${line}`),
    );
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new RangeError(`concurrency must be a whole number of at least 1, got ${this.concurrency}`);
  }

  get running(): number {
    return this.executions.size;
  }

  async start(): Promise<void> {
    await mkdir(this.basedir, { recursive: true });
    const answer = await this.heartbeat();
    this.queueUrl = answer.queueUrl;
    this.heartbeatTimer = setInterval(() => {
      this.heartbeat().catch((error: Error) =>
        this.log(`worker ${this.name}: heartbeat failed: ${error.message}`),
      );
    }, answer.heartbeatIntervalMs);
    this.log(
      `worker ${this.name}: polling ${this.queueUrl} (concurrency ${this.concurrency}, basedir ${this.basedir})`,
    );
    this.polling = this.pollLoop();
  }

  stop(opts: StopOptions = {}): Promise<void> {
    if (opts.interrupt ?? this.interruptOnShutdown) {
      for (const execution of this.executions.values()) execution.interrupt('the worker is shutting down');
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
    this.log(`worker ${this.name}: stopping; ${this.executions.size} command(s) still running`);
    for (const wake of this.slotWaiters.splice(0)) wake(false);
    for (const execution of this.executions.values()) execution.sender.setHeartbeatMs(DRAIN_HEARTBEAT_MS);
    await this.polling;
    while (this.handling.size > 0) await Promise.all(this.handling);
    await this.deleter.flush();
    clearInterval(this.heartbeatTimer);
    this.log(`worker ${this.name}: stopped`);
  }

  private heartbeat(): Promise<WorkerHeartbeatResponse> {
    const body: WorkerHeartbeatRequest = {
      commands: [...this.registry.keys()],
      concurrency: this.concurrency,
      running: this.executions.size,
      version: this.version,
    };
    return apiRequest<WorkerHeartbeatResponse>(
      this.connection,
      'POST',
      `/v1/workers/${encodeURIComponent(this.name)}/heartbeat`,
      { body },
    );
  }

  // ---- the queue ----

  private async pollLoop(): Promise<void> {
    let retryMs = 500;
    while (!this.stopping) {
      // Ask for no more commands than free slots, but always poll: interrupts arrive on this queue too.
      const free = this.concurrency - this.slotsInUse - this.waitingMessages;
      try {
        const answer = await this.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.queueUrl,
            WaitTimeSeconds: RECEIVE_WAIT_SECONDS,
            MaxNumberOfMessages: Math.min(10, Math.max(1, free)),
          }),
          { abortSignal: this.pollAbort.signal },
        );
        // Stopping while this poll was out: anything it brought is handed back by handleCommand.
        for (const message of answer.Messages ?? []) {
          const handled = this.handleMessage(message).catch((error: Error) =>
            this.log(`worker ${this.name}: handling message ${message.MessageId} failed: ${error.message}`),
          );
          this.handling.add(handled);
          void handled.finally(() => this.handling.delete(handled));
        }
        retryMs = 500;
      } catch (error) {
        if (this.pollAbort.signal.aborted) return;
        this.log(
          `worker ${this.name}: receiving from the queue failed: ${(error as Error).message}; retrying in ${retryMs} ms`,
        );
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, 10_000);
      }
    }
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
      const execution = this.executions.get(parsed.commandId);
      if (execution) execution.interrupt(parsed.why);
      else this.log(`command ${parsed.commandId}: interrupt for a command not running here; ignored`);
      await this.deleteMessage(message);
      return;
    }
    await this.handleCommand(parsed, message);
  }

  private acquireSlot(): Promise<boolean> {
    if (this.stopping) return Promise.resolve(false);
    if (this.slotsInUse < this.concurrency) {
      this.slotsInUse++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.slotWaiters.shift();
    // The slot passes straight to the next waiter, so slotsInUse does not change.
    if (next) next(true);
    else this.slotsInUse--;
  }

  private async handleCommand(
    message: Extract<WorkerMessage, { type: 'command' }>,
    raw: Message,
  ): Promise<void> {
    this.waitingMessages++;
    // While it waits for a slot, keep the message hidden so SQS does not hand it to us (or count a receive) again.
    const keepHidden = setInterval(
      () => void this.setVisibility(raw, WAITING_VISIBILITY_SECONDS),
      (WAITING_VISIBILITY_SECONDS / 2) * 1000,
    );
    let granted: boolean;
    try {
      granted = await this.acquireSlot();
    } finally {
      clearInterval(keepHidden);
      this.waitingMessages--;
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
      await this.execute(claim);
    } finally {
      this.releaseSlot();
    }
  }

  /** POST .../start: the claim, or 'drop' (409/403/404: never run it), or 'retry' (leave the message). */
  private async claim(commandId: string): Promise<ClaimResponse | 'drop' | 'retry'> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apiRequest<ClaimResponse>(
          this.connection,
          'POST',
          `/v1/commands/${encodeURIComponent(commandId)}/start`,
        );
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          this.log(`command ${commandId}: not running it (${error.message})`);
          return 'drop';
        }
        if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
          this.log(`command ${commandId}: claim refused, deleting the message (${error.message})`);
          return 'drop';
        }
        if (attempt >= CLAIM_ATTEMPTS) {
          this.log(
            `command ${commandId}: claim failed ${attempt} times (${(error as Error).message}); leaving the message for redelivery`,
          );
          return 'retry';
        }
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  // ---- running one command ----

  private execute(claim: ClaimResponse): Promise<void> {
    const { commandId, command } = claim;
    let started: StartedCommand | undefined;
    let interruptedWhy: string | undefined;
    let rc: number | undefined;
    const interrupt = (why: string): void => {
      if (interruptedWhy !== undefined) return;
      interruptedWhy = why;
      this.log(`command ${commandId}: interrupted (${why})`);
      started?.interrupt(why);
    };
    const sender = new UpdateSender({
      connection: this.connection,
      commandId,
      bufferBytes: this.bufferBytes,
      bufferMs: this.bufferMs,
      heartbeatMs: this.stopping ? DRAIN_HEARTBEAT_MS : (claim.heartbeatTimeout * 1000) / 3,
      giveUpMs: claim.heartbeatTimeout * 1000,
      onInterrupt: interrupt,
      log: this.log,
    });
    const send = (update: CommandUpdate): void => {
      if (update.rc !== undefined) rc = update.rc;
      sender.push(update);
    };
    const run = async (): Promise<void> => {
      const startedAt = performance.now();
      this.log(`command ${commandId}: ${command} started`);
      let failure: CompleteRequest['failure'];
      try {
        const definition = this.registry.get(command);
        if (!definition) throw new CommandStartError(`unrecognized WorkerCommand '${command}'`);
        started = await definition.start({
          commandId,
          args: claim.args,
          basedir: this.basedir,
          send,
          log: this.log,
        });
        // An interrupt that came while the command was starting.
        if (interruptedWhy !== undefined) started.interrupt(interruptedWhy);
        try {
          await started.done;
        } catch (error) {
          failure = {
            kind: 'finish_error',
            message: `${command} failed while finishing: ${(error as Error).message}`,
          };
        }
      } catch (error) {
        // Any throw before the command is under way (bad args, no such executable, unwritable workdir).
        const message =
          error instanceof CommandStartError
            ? error.message
            : `${command} could not start: ${(error as Error).message}`;
        failure = { kind: 'start_error', message };
      }
      const elapsed = (performance.now() - startedAt) / 1000;
      sender.push({ elapsed });
      try {
        await sender.finish(failure);
      } catch (error) {
        this.log(`command ${commandId}: could not complete: ${(error as Error).message}`);
      }
      const outcome = failure ? `${failure.kind}: ${failure.message}` : `rc=${rc ?? 'none'}`;
      this.log(`command ${commandId}: ${command} finished ${outcome} elapsed=${elapsed.toFixed(3)}s`);
    };
    this.executions.set(commandId, { interrupt, sender });
    return run().finally(() => this.executions.delete(commandId));
  }
}

/** Starts a worker: learns its queue with a first heartbeat, then polls it until stop(). */
export async function runWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const worker = new Worker(opts);
  await worker.start();
  return worker;
}
