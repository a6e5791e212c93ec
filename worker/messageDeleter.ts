// Deletes handled queue messages in batches of up to 10 (one SQS request instead of ten).
import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { WorkerLogSink } from './log.ts';

/** SQS deletes at most this many messages per request. */
const BATCH_LIMIT = 10;
/**
 * How long a handled message may wait for others to share its delete request. Far below the worker queue's
 * visibility timeout, so a waiting message does not come back; if it did, the claim answers 409 and it is
 * deleted then. @default 500
 */
export const DELETE_DELAY_MS = 500;

interface PendingDelete {
  id: string;
  receiptHandle: string;
  done: () => void;
}

/**
 * Deletes handled queue messages in batches of up to 10 (one SQS request instead of ten, which is most of a
 * busy worker's SQS bill). A delete is sent when 10 are waiting or DELETE_DELAY_MS after the first; a failed
 * entry is logged and left to come back (the claim then answers 409 and it is deleted again).
 */
export class MessageDeleter {
  private pending: PendingDelete[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nextId = 0;

  constructor(
    /** The worker's client of the moment (its credentials are renewed: worker/queueAccess.ts). */
    private readonly sqs: () => SQSClient,
    private readonly queueUrl: () => string,
    private readonly log: WorkerLogSink,
    private readonly delayMs = DELETE_DELAY_MS,
  ) {}

  /** Resolves once the message's delete was sent (successfully or not: failures are logged, never thrown). */
  delete(receiptHandle: string | undefined): Promise<void> {
    if (!receiptHandle) return Promise.resolve();
    return new Promise((done) => {
      this.pending.push({ id: String(this.nextId++), receiptHandle, done });
      if (this.pending.length >= BATCH_LIMIT) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
    });
  }

  /** Sends everything waiting now (stop() calls it so nothing is left behind). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH_LIMIT);
      try {
        const answer = await this.sqs().send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl(),
            Entries: batch.map(({ id, receiptHandle }) => ({ Id: id, ReceiptHandle: receiptHandle })),
          }),
        );
        for (const failed of answer.Failed ?? [])
          this.log(
            `deleting a handled queue message failed (${failed.Code}: ${failed.Message}); it will come back and be dropped`,
          );
      } catch (error) {
        this.log(
          `deleting ${batch.length} handled queue message(s) failed: ${(error as Error).message}; they will come back and be dropped`,
        );
      } finally {
        for (const entry of batch) entry.done();
      }
    }
  }
}
