// Sends one command's updates to POST /v1/commands/{id}/updates, one request in flight, and finally completes it.
import { setImmediate as setImmediateAsync } from 'node:timers/promises';
import { TransferFailedError } from '../shared/artifacts/errors.ts';
import { ApiError } from '../shared/client/errors.ts';
import { apiRequest } from '../shared/client/http.ts';
import type { ApiConnection, EncodedBody } from '../shared/client/http.ts';
import * as LIMITS from '../shared/limits.ts';
import type { CommandUpdate, CompleteRequest, UpdatesResponse } from '../shared/commands/wire.ts';
import { Retries, sleep } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import { ackedOf, isTransient } from './answers.ts';
import { UpdateBatcher } from './batcher.ts';
import type { Prepared, Unacked } from './batcher.ts';
import { completeCanCarry, sendComplete } from './completer.ts';
import { UpdateDeliveryError } from './errors.ts';
import { logObjectBatch, sendLogObject } from './logObjects.ts';
import type { LogObjectBatch } from './logObjects.ts';
import type { WorkerLogSink } from './log.ts';
import { withDefaults } from './options.ts';

/**
 * Output waits in the UpdateBatcher until bufferBytes or bufferMs; then it is sealed with its seqs. One
 * request is in flight at a time. It carries the unacked list from the front, so a resend after a network
 * error, a 5xx, or a 409 {acked} is simply the next request (the server drops the prefix it already stored).
 * While a request is in flight new output keeps merging in the buffer: a slow API means fewer, larger
 * batches rather than a queue of requests. A request carries up to maxRequestBytes before compression and
 * maxWireBytes after it: fast, repetitive output (50 MB of `yes hello`) then takes a few requests, and
 * random text as many as its compressed size needs.
 */
export interface UpdateSenderOptions {
  connection: ApiConnection;
  commandId: string;
  /** Send once this many bytes of text wait (the worker's bufferBytes). */
  bufferBytes: number;
  /** Send at most this long after the first waiting update, in ms (the worker's bufferMs). */
  bufferMs: number;
  /** Send an empty batch (a heartbeat) after this long without a request, in ms (setHeartbeatMs changes it). */
  heartbeatMs: number;
  /** Give up after this long of failed requests in a row (the server calls the command lost by then). */
  giveUpMs: number;
  /** Called once, when an ack carries an interrupt or the command can no longer be updated. */
  onInterrupt: (why: string) => void;
  log: WorkerLogSink;
  /** Largest body of one request before compression, in bytes (what the edge inflates). @default 16 MiB */
  maxRequestBytes?: number;
  /** Largest compressed body of one request, in bytes (a Lambda event holds 6 MB, base64 included). @default 3 MiB */
  maxWireBytes?: number;
  /** First retry delay, in ms; it doubles up to UPDATES_RETRY.maxMs (5 s). @default 100 */
  retryMs?: number;
  /**
   * Output held for the API (buffered text and unacked updates, estimated JSON bytes) from which the
   * command's output pauses (backlogged()): twice a request's body, so the sender never waits on it. @default 32 MiB
   */
  backlogBytes?: number;
}

/**
 * A failed updates or complete request (no answer, 5xx, 429) is tried again after 100 ms, doubling up to
 * 5 s, until giveUpMs (the command's heartbeat timeout) of failures in a row.
 */
export const UPDATES_RETRY: RetryPolicy = Object.freeze({ minMs: 100, maxMs: 5_000 });

const SENDER_DEFAULTS = Object.freeze({
  maxRequestBytes: LIMITS.workerBodyBytes,
  maxWireBytes: LIMITS.workerWireBytes,
  retryMs: UPDATES_RETRY.minMs,
  backlogBytes: 2 * LIMITS.workerBodyBytes,
});
/** Bytes of a request (before compression) from which the next batch is encoded while it is in flight. @default 256 KiB */
const ENCODE_AHEAD_MIN_BYTES = 256 * 1024;

/** Whether `error` is an older API's refusal of the `object` field it does not know (a strict schema's 400). */
function refusesLogObjects(error: unknown): error is ApiError {
  return (
    error instanceof ApiError &&
    error.status === 400 &&
    error.apiCode === 'invalid_request' &&
    error.body.path === 'object' &&
    /unknown field/.test(error.message)
  );
}

export class UpdateSender {
  private readonly opts: Readonly<UpdateSenderOptions & typeof SENDER_DEFAULTS>;
  /** UPDATES_RETRY from retryMs, giving up after giveUpMs. */
  private readonly retryPolicy: RetryPolicy;
  private readonly batcher: UpdateBatcher;
  private heartbeatMs: number;
  private pumping: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatDue = false;
  private interrupted = false;
  private fatal: UpdateDeliveryError | undefined;
  private finished = false;
  /** The log object last sent (kept for a resend while it starts the unacked list). */
  private lastObject: LogObjectBatch | undefined;
  /** The API does not take log objects (an older one): every update goes in the updates requests. */
  private noLogObjects = false;
  /** What backlogged() handed out, and its resolver: settled once the backlog is down to half. */
  private drained: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(opts: UpdateSenderOptions) {
    this.opts = withDefaults(SENDER_DEFAULTS, opts);
    this.retryPolicy = Object.freeze({
      ...UPDATES_RETRY,
      minMs: this.opts.retryMs,
      giveUpMs: this.opts.giveUpMs,
    });
    this.batcher = new UpdateBatcher(this.opts);
    this.heartbeatMs = this.opts.heartbeatMs;
    this.armHeartbeat();
  }

  /** Highest seq the server has stored. */
  get ackedSeq(): number {
    return this.batcher.ackedSeq;
  }

  push(update: CommandUpdate): void {
    if (this.finished) return;
    this.batcher.append(update);
    if (this.batcher.bufferedBytes >= this.opts.bufferBytes) this.kick();
    else this.flushTimer ??= setTimeout(() => this.kick(), this.opts.bufferMs);
  }

  /** Output held for the API: buffered text and unacked updates (estimated JSON bytes). */
  get backlogBytes(): number {
    return this.batcher.bufferedBytes + this.batcher.unackedBytes;
  }

  /**
   * Backpressure for the command's output: undefined while the backlog is under opts.backlogBytes; else a
   * promise that settles once it is down to half of that, or the sender has stopped (finished, failed,
   * abandoned). A command that writes faster than the API stores then holds about backlogBytes, not all
   * of its output (the process blocks on its pipe meanwhile, as it would behind a slow terminal).
   */
  backlogged(): Promise<void> | undefined {
    if (this.drained) return this.drained;
    if (this.finished || this.fatal || this.backlogBytes < this.opts.backlogBytes) return undefined;
    void this.kick();
    return (this.drained = new Promise((resolve) => (this.resolveDrained = resolve)));
  }

  private checkDrained(): void {
    if (this.resolveDrained === undefined) return;
    const stopped = this.finished || this.fatal !== undefined;
    if (!stopped && this.backlogBytes > this.opts.backlogBytes / 2) return;
    const resolve = this.resolveDrained;
    this.drained = this.resolveDrained = undefined;
    resolve();
  }

  /** Used while the worker drains: a shorter heartbeat brings interrupts sooner once polling stopped. */
  setHeartbeatMs(ms: number): void {
    this.heartbeatMs = ms;
    this.armHeartbeat();
  }

  /**
   * Sends everything, then POST .../complete {lastSeq, failure}. Rejects with UpdateDeliveryError when
   * the server cannot take the updates any more (the command was ended without us) or kept failing.
   */
  async finish(failure?: CompleteRequest['failure']): Promise<void> {
    this.finished = true;
    try {
      await this.flushForComplete();
      await sendComplete({
        connection: this.opts.connection,
        commandId: this.opts.commandId,
        batcher: this.batcher,
        failure,
        policy: this.retryPolicy,
        ack: (acked) => this.ack(acked),
        log: this.opts.log,
      });
    } finally {
      this.stopTimers();
    }
  }

  /** Stops timers without completing (the worker is being torn down). */
  abandon(): void {
    this.finished = true;
    this.stopTimers();
  }

  private stopTimers(): void {
    this.checkDrained();
    clearTimeout(this.flushTimer);
    clearTimeout(this.heartbeatTimer);
    this.flushTimer = undefined;
    this.heartbeatTimer = undefined;
  }

  private async flush(): Promise<void> {
    while (this.batcher.pending || this.pumping) {
      if (this.fatal) throw this.fatal;
      await (this.pumping ?? this.kick());
    }
    if (this.fatal) throw this.fatal;
  }

  /**
   * Waits for the request in flight (no timer: the command has exited); what is still unacked then rides
   * on complete (sent as plain JSON), unless complete cannot carry it all: that goes as updates first.
   */
  private async flushForComplete(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.pumping) await this.pumping;
    if (this.fatal) throw this.fatal;
    this.batcher.seal();
    if (!completeCanCarry(this.batcher)) await this.flush();
  }

  private kick(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pumping ??= this.pump().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  private armHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    if (this.finished) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatDue = true;
      void this.kick();
    }, this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /**
   * Encodes the batch that follows `inFlight` while its request is answered, so the worker's CPU
   * (stringify, compress) overlaps the edge's (inflate, parse, store). Nothing is sent early: one request
   * stays in flight, and pump() uses the result only if the next batch starts where this one does.
   */
  private async encodeAhead(inFlight: Unacked[]): Promise<Prepared | undefined> {
    // Let the request write its body before the event loop is taken by this encoding.
    await setImmediateAsync();
    if (this.fatal) return undefined;
    this.batcher.seal();
    const next = this.batcher.batchAfter(inFlight);
    return next && this.batcher.encode(next);
  }

  private async pump(): Promise<void> {
    const retries = new Retries(this.retryPolicy);
    let prepared: Prepared | undefined;
    while (!this.fatal) {
      this.batcher.seal();
      // A long stretch of output that does not compress goes to S3 as a log object (worker/logObjects.ts).
      // After a failure the same object is sent again, not one cut anew from more output: its upload may
      // have succeeded, and the API then records it without a second PUT.
      const front = this.batcher.unackedEntries[0];
      const object = this.noLogObjects
        ? undefined
        : this.lastObject !== undefined && this.lastObject.batch[0] === front
          ? this.lastObject
          : logObjectBatch(this.batcher.unackedEntries);
      this.lastObject = object;
      let batch: Unacked[];
      let encoded: EncodedBody | undefined;
      if (object !== undefined) {
        batch = object.batch;
      } else if (prepared !== undefined && this.batcher.startsWith(prepared)) {
        // Encoded while the last request was answered, and that request was acked whole.
        ({ batch, encoded } = prepared);
      } else {
        const next = this.batcher.nextBatch();
        if (next.length === 0 && !this.heartbeatDue) return;
        ({ batch, encoded } = this.batcher.encode(next));
      }
      prepared = undefined;
      this.heartbeatDue = false;
      try {
        const request =
          encoded === undefined
            ? sendLogObject(this.opts.connection, this.opts.commandId, object!)
            : apiRequest<UpdatesResponse>(
                this.opts.connection,
                'POST',
                `/v1/commands/${encodeURIComponent(this.opts.commandId)}/updates`,
                { encoded },
              );
        // Only worth it when a large batch is under way: small ones leave nothing to overlap.
        const ahead =
          encoded !== undefined &&
          this.batcher.unackedCount > batch.length &&
          encoded.plainBytes >= ENCODE_AHEAD_MIN_BYTES
            ? this.encodeAhead(batch)
            : undefined;
        let answer: UpdatesResponse;
        try {
          answer = await request;
        } finally {
          // Kept even when the request failed: the check above uses it only if it starts the unacked list.
          prepared = await ahead;
        }
        this.ack(answer.acked);
        if (answer.interrupt) this.interrupt(answer.interrupt.why);
        retries.succeeded();
      } catch (error) {
        const acked = error instanceof ApiError && error.status === 409 ? ackedOf(error) : undefined;
        if (acked !== undefined) {
          // The server is missing updates before our batch: the next request resends from acked + 1.
          this.ack(acked);
          continue;
        }
        if (object !== undefined && refusesLogObjects(error)) {
          // An older API refuses the unknown `object` field: the same updates go as a batch instead. Any
          // other 400 is a fault of this request, not of log objects, and fails like any other refusal.
          this.stopLogObjects(error.message);
          continue;
        }
        if (error instanceof ApiError && error.status === 413 && batch.length > 1 && encoded !== undefined) {
          // An edge with a lower limit (an older API): halve the requests from now on, and send again.
          const limit = this.batcher.halveRequests(encoded.plainBytes);
          this.opts.log(
            `command ${this.opts.commandId}: ${batch.length} updates were too large for the API (${error.message}); sending at most ${limit} bytes per request`,
          );
          continue;
        }
        // A log object's PUT that failed (S3 unreachable, an expired URL) is sent again with a new URL.
        const transient = isTransient(error) || error instanceof TransferFailedError;
        const waitMs = transient ? retries.failed() : undefined;
        if (waitMs === undefined) {
          const why = transient ? `updates kept failing for ${this.opts.giveUpMs} ms` : 'updates refused';
          this.fail(
            new UpdateDeliveryError(this.opts.commandId, `${why}: ${(error as Error).message}`, {
              cause: error,
            }),
          );
          return;
        }
        this.opts.log(
          `command ${this.opts.commandId}: sending updates failed (${(error as Error).message}); retrying in ${waitMs} ms`,
        );
        await sleep(waitMs);
      } finally {
        this.armHeartbeat();
      }
    }
  }

  /** Records the server's ack; returns the fatal error when the answer shows the server lost updates. */
  private ack(acked: number): UpdateDeliveryError | undefined {
    const before = this.batcher.ack(acked);
    this.checkDrained();
    if (before !== undefined)
      this.fail(
        new UpdateDeliveryError(
          this.opts.commandId,
          `the server acked ${acked} after acking ${before}; updates were lost`,
        ),
      );
    return this.fatal;
  }

  private stopLogObjects(why: string): void {
    this.noLogObjects = true;
    this.opts.log(
      `command ${this.opts.commandId}: the API does not take log objects (${why}); sending output in updates`,
    );
  }

  private interrupt(why: string): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.opts.onInterrupt(why);
  }

  private fail(error: UpdateDeliveryError): void {
    this.fatal = error;
    this.checkDrained();
    this.opts.log(error.message);
    // Nobody can read this command's output any more: stop its process rather than run it unseen.
    this.interrupt(error.message);
  }
}
