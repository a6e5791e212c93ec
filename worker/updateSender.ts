import { setImmediate as setImmediateAsync, setTimeout as sleep } from 'node:timers/promises';
import {
  ApiError,
  ApiUnreachableError,
  apiRequest,
  compressBody,
  encodeBody,
} from '../shared/client/http.ts';
import { TEXT_BATCH_CONTENT_TYPE, encodeTextBatch } from '../shared/commands/textBatch.ts';
import type { ApiConnection, EncodedBody } from '../shared/client/http.ts';
import { UPDATES_BODY_MAX_BYTES, UPDATES_WIRE_MAX_BYTES } from '../shared/commands/updates.ts';
import { LIMITS } from '../shared/commands/wire.ts';
import type { CommandUpdate, CompleteRequest, UpdatesResponse } from '../shared/commands/wire.ts';
import type { SequencedUpdate } from '../shared/commands/updates.ts';
import { UpdateDeliveryError } from './errors.ts';
import type { WorkerLogSink } from './log.ts';
import { UpdateBuffer, jsonBytesEstimate } from './updateBuffer.ts';

/**
 * Sends one command's updates to POST /v1/commands/{id}/updates and finally completes it.
 *
 * Output waits in an UpdateBuffer until bufferBytes or bufferMs; then it gets its seqs (0, 1, 2 ...,
 * no gaps, fixed forever) and joins the unacked list. One request is in flight at a time. It carries
 * the unacked list from the front, so a resend after a network error, a 5xx, or a 409 {acked} is simply
 * the next request (the server drops the prefix it already stored). Updates leave the list only once
 * acked. While a request is in flight new output keeps merging in the buffer: a slow API means fewer,
 * larger batches rather than a queue of requests. A request carries up to maxRequestBytes before compression
 * and maxWireBytes after it: fast, repetitive output (50 MB of `yes hello`) then takes a few requests,
 * and random text as many as its compressed size needs.
 */
export interface UpdateSenderOptions {
  connection: ApiConnection;
  commandId: string;
  /** Send once this many bytes of text wait. @default 64 KiB */
  bufferBytes: number;
  /** Send at most this long after the first waiting update. @default 100 */
  bufferMs: number;
  /** Send an empty batch (a heartbeat) after this long without a request. */
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
  /** First retry delay; doubles up to 5 s. @default 100 */
  retryMs?: number;
}

interface Unacked {
  update: CommandUpdate;
  seq: number;
  bytes: number;
}

/** A batch and its request body, ready to send. */
interface Prepared {
  batch: Unacked[];
  encoded: EncodedBody;
}

/** Bytes of a request (before compression) from which the next batch is encoded while it is in flight. @default 256 KiB */
const ENCODE_AHEAD_MIN_BYTES = 256 * 1024;

const MAX_RETRY_MS = 5_000;
/** Most JSON of updates that complete carries; more is sent as updates first. @default 256 KiB */
const COMPLETE_CARRIES_BYTES = 256 * 1024;

function ackedOf(error: ApiError): number | undefined {
  const acked = error.body.acked;
  return typeof acked === 'number' && Number.isInteger(acked) ? acked : undefined;
}

/** A failure worth retrying: no answer at all, or the server or gateway failed. */
function isTransient(error: unknown): boolean {
  if (error instanceof ApiError) return error.status >= 500 || error.status === 429;
  return error instanceof ApiUnreachableError;
}

export class UpdateSender {
  private readonly opts: Required<UpdateSenderOptions>;
  private readonly buffer = new UpdateBuffer();
  private readonly unacked: Unacked[] = [];
  private nextSeq = 0;
  private acked = -1;
  private pumping: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatDue = false;
  /** Compressed / plain bytes of the last compressed request: how much fits maxWireBytes. */
  private wireRatio = 1;
  private interrupted = false;
  private fatal: UpdateDeliveryError | undefined;
  private finished = false;

  constructor(opts: UpdateSenderOptions) {
    this.opts = {
      maxRequestBytes: UPDATES_BODY_MAX_BYTES,
      maxWireBytes: UPDATES_WIRE_MAX_BYTES,
      retryMs: 100,
      ...opts,
    };
    this.armHeartbeat();
  }

  /** Highest seq the server has stored. */
  get ackedSeq(): number {
    return this.acked;
  }

  push(update: CommandUpdate): void {
    if (this.finished) return;
    this.buffer.append(update);
    if (this.buffer.bytes >= this.opts.bufferBytes) this.kick();
    else this.flushTimer ??= setTimeout(() => this.kick(), this.opts.bufferMs);
  }

  /** Used while the worker drains: a shorter heartbeat brings interrupts sooner once polling stopped. */
  setHeartbeatMs(ms: number): void {
    this.opts.heartbeatMs = ms;
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
      await this.complete(failure);
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
    clearTimeout(this.flushTimer);
    clearTimeout(this.heartbeatTimer);
    this.flushTimer = undefined;
    this.heartbeatTimer = undefined;
  }

  private async flush(): Promise<void> {
    while (this.buffer.length > 0 || this.unacked.length > 0 || this.pumping) {
      if (this.fatal) throw this.fatal;
      await (this.pumping ?? this.kick());
    }
    if (this.fatal) throw this.fatal;
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
    }, this.opts.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  /** Moves the buffer into the unacked list, giving each update its seq. */
  private seal(): void {
    for (const update of this.buffer.drain()) {
      this.unacked.push({
        update,
        seq: this.nextSeq++,
        bytes: jsonBytesEstimate(update),
      });
    }
  }

  /** The unacked updates one request holds from index `from`, by estimated JSON size and the last compression ratio. */
  private nextBatch(from = 0): Unacked[] {
    const batch: Unacked[] = [];
    const limit = Math.min(this.opts.maxRequestBytes, this.opts.maxWireBytes / this.wireRatio) * 0.9;
    let bytes = 0;
    for (const entry of this.unacked.slice(from)) {
      if (batch.length > 0 && (bytes + entry.bytes > limit || batch.length >= LIMITS.updatesPerBatch)) break;
      batch.push(entry);
      bytes += entry.bytes;
    }
    return batch;
  }

  /**
   * The body of POST .../updates for `batch`, cut shorter while it is over either limit (estimates can
   * miss: JSON escapes, a worse ratio than the last). One update alone always goes.
   */
  private encodeBatch(batch: Unacked[]): Prepared {
    let entries = batch;
    for (;;) {
      const updates: SequencedUpdate[] = entries.map((entry) => [entry.update, entry.seq]);
      // Output goes as a text batch (bytes, no JSON escaping); anything else, or a short batch, as JSON.
      const textBatch = encodeTextBatch(updates);
      const encoded =
        textBatch === undefined ? encodeBody({ updates }) : compressBody(textBatch, TEXT_BATCH_CONTENT_TYPE);
      if (encoded.encoding !== undefined)
        this.wireRatio = Math.max(encoded.bytes.length / encoded.plainBytes, 1e-4);
      const over = Math.max(
        encoded.plainBytes / this.opts.maxRequestBytes,
        encoded.bytes.length / this.opts.maxWireBytes,
      );
      if (over <= 1 || entries.length === 1) return { batch: entries, encoded };
      entries = entries.slice(0, Math.max(1, Math.floor((entries.length / over) * 0.9)));
    }
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
    this.seal();
    const lastSeq = inFlight[inFlight.length - 1]?.seq ?? this.acked;
    const after = this.unacked.findIndex((entry) => entry.seq > lastSeq);
    if (after < 0) return undefined;
    return this.encodeBatch(this.nextBatch(after));
  }

  private async pump(): Promise<void> {
    let retryMs = this.opts.retryMs;
    let failingSince: number | undefined;
    let prepared: Prepared | undefined;
    while (!this.fatal) {
      this.seal();
      let batch: Unacked[];
      let encoded: EncodedBody;
      if (prepared !== undefined && prepared.batch[0] === this.unacked[0]) {
        // Encoded while the last request was answered, and that request was acked whole.
        ({ batch, encoded } = prepared);
      } else {
        const next = this.nextBatch();
        if (next.length === 0 && !this.heartbeatDue) return;
        ({ batch, encoded } = this.encodeBatch(next));
      }
      prepared = undefined;
      this.heartbeatDue = false;
      try {
        const request = apiRequest<UpdatesResponse>(
          this.opts.connection,
          'POST',
          `/v1/commands/${encodeURIComponent(this.opts.commandId)}/updates`,
          { encoded },
        );
        // Only worth it when a large batch is under way: small ones leave nothing to overlap.
        const ahead =
          this.unacked.length > batch.length && encoded.plainBytes >= ENCODE_AHEAD_MIN_BYTES
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
        retryMs = this.opts.retryMs;
        failingSince = undefined;
      } catch (error) {
        const acked = error instanceof ApiError && error.status === 409 ? ackedOf(error) : undefined;
        if (acked !== undefined) {
          // The server is missing updates before our batch: the next request resends from acked + 1.
          this.ack(acked);
          continue;
        }
        if (error instanceof ApiError && error.status === 413 && batch.length > 1) {
          // An edge with a lower limit (an older API): halve the requests from now on, and send again.
          this.opts.maxRequestBytes = Math.max(1024, Math.floor(encoded.plainBytes / 2));
          this.opts.log(
            `command ${this.opts.commandId}: ${batch.length} updates were too large for the API (${(error as Error).message}); sending at most ${this.opts.maxRequestBytes} bytes per request`,
          );
          continue;
        }
        if (!isTransient(error)) {
          this.fail(
            new UpdateDeliveryError(this.opts.commandId, `updates refused: ${(error as Error).message}`, {
              cause: error,
            }),
          );
          return;
        }
        failingSince ??= Date.now();
        if (Date.now() - failingSince > this.opts.giveUpMs) {
          this.fail(
            new UpdateDeliveryError(
              this.opts.commandId,
              `updates kept failing for ${this.opts.giveUpMs} ms: ${(error as Error).message}`,
              {
                cause: error,
              },
            ),
          );
          return;
        }
        this.opts.log(
          `command ${this.opts.commandId}: sending updates failed (${(error as Error).message}); retrying in ${retryMs} ms`,
        );
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      } finally {
        this.armHeartbeat();
      }
    }
  }

  private ack(acked: number): void {
    const first = this.unacked[0];
    // The server once acked everything before our first unacked update; a lower answer means it lost them.
    if (first !== undefined && acked < first.seq - 1) {
      this.fail(
        new UpdateDeliveryError(
          this.opts.commandId,
          `the server acked ${acked} after acking ${first.seq - 1}; updates were lost`,
        ),
      );
      return;
    }
    this.acked = Math.max(this.acked, acked);
    while (this.unacked.length > 0 && this.unacked[0]!.seq <= acked) this.unacked.shift();
  }

  private interrupt(why: string): void {
    if (this.interrupted) return;
    this.interrupted = true;
    this.opts.onInterrupt(why);
  }

  private fail(error: UpdateDeliveryError): void {
    this.fatal = error;
    this.opts.log(error.message);
    // Nobody can read this command's output any more: stop its process rather than run it unseen.
    this.interrupt(error.message);
  }

  // ---- complete carries the last batch (bill and dispatch work: one request instead of two) ----

  /**
   * Waits for the request in flight (no timer: the command has exited); what is still unacked then rides
   * on complete (sent as plain JSON), unless it is over COMPLETE_CARRIES_BYTES, which goes as updates first.
   */
  private async flushForComplete(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.pumping) await this.pumping;
    if (this.fatal) throw this.fatal;
    this.seal();
    const carried = this.unacked.reduce((sum, entry) => sum + entry.bytes, 0);
    if (carried > COMPLETE_CARRIES_BYTES || this.unacked.length > LIMITS.updatesPerBatch) await this.flush();
  }

  /** The complete body: lastSeq, the failure, and the updates not acked yet (stored by the server first). */
  private completeBody(failure: CompleteRequest['failure']): CompleteRequest {
    const body: CompleteRequest = { lastSeq: this.nextSeq - 1 };
    if (this.unacked.length > 0) body.updates = this.unacked.map((entry) => [entry.update, entry.seq]);
    if (failure) body.failure = failure;
    return body;
  }

  // ---- end of the complete-carries-updates part ----

  private async complete(failure: CompleteRequest['failure']): Promise<void> {
    let body = this.completeBody(failure);
    let retryMs = this.opts.retryMs;
    const startedAt = Date.now();
    for (;;) {
      try {
        await apiRequest(
          this.opts.connection,
          'POST',
          `/v1/commands/${encodeURIComponent(this.opts.commandId)}/complete`,
          { body },
        );
        return;
      } catch (error) {
        if (error instanceof ApiError && error.status === 409) {
          const acked = ackedOf(error);
          // The server holds fewer updates than the carried ones start after: ack() says whether it lost any.
          if (acked !== undefined && acked < body.lastSeq && body.updates !== undefined) {
            this.ack(acked);
            if (this.fatal) throw this.fatal;
            if (this.unacked.length < body.updates.length) {
              body = this.completeBody(failure);
              continue;
            }
          }
          if (acked !== undefined && acked < body.lastSeq)
            throw new UpdateDeliveryError(
              this.opts.commandId,
              `complete refused: the server holds updates up to ${acked} of ${body.lastSeq}, and they were acked before`,
              { cause: error },
            );
          // Already complete (repeated call, or the watchdog ended it while we were away): nothing to do.
          this.opts.log(
            `command ${this.opts.commandId}: complete answered 409 (${error.message}); leaving it as it is`,
          );
          return;
        }
        if (!isTransient(error) || Date.now() - startedAt > this.opts.giveUpMs)
          throw new UpdateDeliveryError(this.opts.commandId, `complete failed: ${(error as Error).message}`, {
            cause: error,
          });
        await sleep(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
  }
}
