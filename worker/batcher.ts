// One command's updates on their way to the API: their seqs, the unacked list, and request-sized encoded batches.
import { compressBody, encodeBody } from '../shared/client/http.ts';
import type { EncodedBody } from '../shared/client/http.ts';
import { TEXT_BATCH_CONTENT_TYPE, encodeTextBatch } from '../shared/commands/textBatch.ts';
import type { SequencedUpdate } from '../shared/commands/apiTypes.ts';
import * as LIMITS from '../shared/limits.ts';
import type { CommandUpdate } from '../shared/commands/wire.ts';
import { UpdateBuffer, jsonBytesEstimate } from './updateBuffer.ts';

/** An update with its seq, kept until the server acks it. */
export interface Unacked {
  update: CommandUpdate;
  seq: number;
  bytes: number;
}

/** A batch and its request body, ready to send. */
export interface Prepared {
  batch: Unacked[];
  encoded: EncodedBody;
}

export interface BatchLimits {
  /** Largest body of one request before compression, in bytes (what the edge inflates). */
  readonly maxRequestBytes: number;
  /** Largest compressed body of one request, in bytes. */
  readonly maxWireBytes: number;
}

/**
 * Output waits in an UpdateBuffer until the sender seals it; then each update gets its seq (0, 1, 2 ...,
 * no gaps, fixed forever) and joins the unacked list, which it leaves only once acked. No I/O here: the
 * update sender decides when to seal and send.
 */
export class UpdateBatcher {
  private readonly buffer = new UpdateBuffer();
  private readonly unacked: Unacked[] = [];
  private nextSeq = 0;
  private acked = -1;
  /** The sum of the unacked entries' `bytes`, kept as they come and go (the backlog bound reads it per chunk). */
  private unackedTotal = 0;
  /** Compressed / plain bytes of the last compressed request: how much fits maxWireBytes. */
  private wireRatio = 1;
  /** maxRequestBytes, until an edge with a lower limit answers 413. */
  private requestBytes: number;

  constructor(private readonly limits: BatchLimits) {
    this.requestBytes = limits.maxRequestBytes;
  }

  /** Highest seq the server has stored. */
  get ackedSeq(): number {
    return this.acked;
  }

  /** The seq of the last sealed update (-1 before the first). */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** Text bytes waiting in the buffer. */
  get bufferedBytes(): number {
    return this.buffer.bytes;
  }

  /** Anything buffered or unacked. */
  get pending(): boolean {
    return this.buffer.length > 0 || this.unacked.length > 0;
  }

  /** The unacked updates, in seq order (read-only: only ack() removes them). */
  get unackedEntries(): readonly Unacked[] {
    return this.unacked;
  }

  get unackedCount(): number {
    return this.unacked.length;
  }

  /** Estimated JSON bytes of the unacked updates. */
  get unackedBytes(): number {
    return this.unackedTotal;
  }

  append(update: CommandUpdate): void {
    this.buffer.append(update);
  }

  /** Moves the buffer into the unacked list, giving each update its seq. */
  seal(): void {
    for (const update of this.buffer.drain()) {
      const bytes = jsonBytesEstimate(update);
      this.unacked.push({ update, seq: this.nextSeq++, bytes });
      this.unackedTotal += bytes;
    }
  }

  /** The unacked updates, in seq order, as they go in a request. */
  sequenced(): SequencedUpdate[] {
    return this.unacked.map((entry) => [entry.update, entry.seq]);
  }

  /** The unacked updates one request holds from index `from`, by estimated JSON size and the last compression ratio. */
  nextBatch(from = 0): Unacked[] {
    const batch: Unacked[] = [];
    const limit = Math.min(this.requestBytes, this.limits.maxWireBytes / this.wireRatio) * 0.9;
    let bytes = 0;
    for (const entry of this.unacked.slice(from)) {
      if (batch.length > 0 && (bytes + entry.bytes > limit || batch.length >= LIMITS.updatesPerBatch)) break;
      batch.push(entry);
      bytes += entry.bytes;
    }
    return batch;
  }

  /** The batch after the one in flight (or undefined when nothing follows it), to encode while it is answered. */
  batchAfter(inFlight: Unacked[]): Unacked[] | undefined {
    const lastSeq = inFlight[inFlight.length - 1]?.seq ?? this.acked;
    const after = this.unacked.findIndex((entry) => entry.seq > lastSeq);
    return after < 0 ? undefined : this.nextBatch(after);
  }

  /** Whether `prepared` starts where the unacked list does now (its request was encoded ahead of the ack). */
  startsWith(prepared: Prepared): boolean {
    return prepared.batch[0] === this.unacked[0];
  }

  /**
   * The body of POST .../updates for `batch`, cut shorter while it is over either limit (estimates can
   * miss: JSON escapes, a worse ratio than the last). One update alone always goes.
   */
  encode(batch: Unacked[]): Prepared {
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
        encoded.plainBytes / this.requestBytes,
        encoded.bytes.length / this.limits.maxWireBytes,
      );
      if (over <= 1 || entries.length === 1) return { batch: entries, encoded };
      entries = entries.slice(0, Math.max(1, Math.floor((entries.length / over) * 0.9)));
    }
  }

  /** An edge refused a body of `plainBytes` (413): requests carry half of it from now on. Returns the new limit. */
  halveRequests(plainBytes: number): number {
    this.requestBytes = Math.max(1024, Math.floor(plainBytes / 2));
    return this.requestBytes;
  }

  /**
   * The server stores every update up to `acked`: they leave the unacked list. Returns undefined, or, when
   * `acked` is below what the server acked before (it lost updates), that earlier ack.
   */
  ack(acked: number): number | undefined {
    const first = this.unacked[0];
    // The server once acked everything before our first unacked update; a lower answer means it lost them.
    if (first !== undefined && acked < first.seq - 1) return first.seq - 1;
    this.acked = Math.max(this.acked, acked);
    while (this.unacked.length > 0 && this.unacked[0]!.seq <= acked)
      this.unackedTotal -= this.unacked.shift()!.bytes;
    return undefined;
  }
}
