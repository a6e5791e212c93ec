// Lambda's SQS event source mapping, locally: long-poll, invoke with a batch, delete what succeeded.
import { createHash } from 'node:crypto';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type {
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { retry } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import type { FunctionRunner } from './handlers.ts';

/**
 * Lambda's SQS event source mapping, locally: long-polls a queue, invokes the function with a batch and deletes
 * what succeeded. With ReportBatchItemFailures, everything but the reported items is deleted; a throw deletes
 * nothing, so the whole batch comes back after the visibility timeout, as on AWS.
 *
 * With a batching window (serverless.yml `maximumBatchingWindow`), as Lambda does: once the first message
 * arrives, it keeps polling until it holds `batchSize` messages or the window has passed, then invokes once.
 * Each ReceiveMessage returns as soon as one message is there (up to 10), so messages that trickle in cost
 * about one receive each; a burst costs one receive per 10. Deletes go 10 to a DeleteMessageBatch.
 */

export interface PollerOptions {
  sqs: SQSClient;
  runner: FunctionRunner;
  functionName: string;
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  /** Gather records this long after the first before invoking (Lambda's MaximumBatchingWindowInSeconds). @default 0 */
  maximumBatchingWindowMs?: number;
  reportBatchItemFailures: boolean;
  /** Long-poll wait per ReceiveMessage. @default 20 */
  waitTimeSeconds?: number;
  log: (line: string) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

/** A failed poll (emulator restarting, stack stopping) is tried again 0.5 s later, every time, without backing off. */
export const POLL_RETRY: RetryPolicy = Object.freeze({ minMs: 500, maxMs: 500 });
/** SQS's most messages per ReceiveMessage and per DeleteMessageBatch. */
const SQS_BATCH_MAX = 10;

function toRecord(message: Message, opts: PollerOptions): SQSRecord {
  const body = message.Body ?? '';
  const attributes: Record<string, string> = { ...(message.Attributes ?? {}) };
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body,
    attributes: attributes as unknown as SQSRecordAttributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: opts.queueArn,
    awsRegion: opts.region,
  };
}

/** The messages to delete after a successful invocation, per Lambda's partial batch response rules. */
export function messagesToDelete(
  records: SQSRecord[],
  result: unknown,
  reportBatchItemFailures: boolean,
): SQSRecord[] {
  if (!reportBatchItemFailures) return records;
  const failures = (result as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  if (failures === undefined || failures === null) return records;
  const ids = new Set(records.map((record) => record.messageId));
  const failed = new Set<string>();
  for (const failure of Array.isArray(failures) ? failures : [null]) {
    const id = failure?.itemIdentifier;
    // Lambda treats an empty, null or unknown identifier as a failure of the whole batch.
    if (typeof id !== 'string' || !ids.has(id)) return [];
    failed.add(id);
  }
  return records.filter((record) => !failed.has(record.messageId));
}

export function startPoller(opts: PollerOptions): Poller {
  const abort = new AbortController();
  let running = true;

  function receive(max: number, waitTimeSeconds: number): Promise<Message[]> {
    return opts.sqs
      .send(
        new ReceiveMessageCommand({
          QueueUrl: opts.queueUrl,
          MaxNumberOfMessages: Math.min(max, SQS_BATCH_MAX),
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      )
      .then(({ Messages }) => Messages ?? []);
  }

  /**
   * The first long poll, then more until the batch is full or the window has passed. A long poll waits whole
   * seconds and is never aborted (an aborted receive may have taken messages that then stay invisible for the
   * visibility timeout), so the window's last fraction of a second is slept; then short polls take what
   * arrived meanwhile, 10 at a time, until one comes back short. Without a window, one receive is the batch.
   */
  async function gather(): Promise<Message[]> {
    const messages = await receive(opts.batchSize, opts.waitTimeSeconds ?? 20);
    const windowMs = opts.maximumBatchingWindowMs ?? 0;
    if (messages.length === 0 || windowMs <= 0) return messages;
    const windowEnds = Date.now() + windowMs;
    while (running && messages.length < opts.batchSize) {
      const left = windowEnds - Date.now();
      const waitSeconds = Math.max(0, Math.min(Math.floor(left / 1000), 20));
      if (waitSeconds === 0 && left > 0) await new Promise((wake) => setTimeout(wake, left));
      const more = await receive(opts.batchSize - messages.length, waitSeconds);
      messages.push(...more);
      if (waitSeconds === 0 && more.length < SQS_BATCH_MAX) break;
    }
    return messages;
  }

  async function deleteDone(done: SQSRecord[]): Promise<void> {
    for (let at = 0; at < done.length; at += SQS_BATCH_MAX) {
      const { Failed } = await opts.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: opts.queueUrl,
          Entries: done
            .slice(at, at + SQS_BATCH_MAX)
            .map((record, i) => ({ Id: String(at + i), ReceiptHandle: record.receiptHandle })),
        }),
      );
      for (const failure of Failed ?? [])
        opts.log(`delete after ${opts.functionName} failed: ${failure.Message}`);
    }
  }

  async function pollOnce(): Promise<void> {
    const messages = await gather();
    if (messages.length === 0) return;
    const records = messages.map((message) => toRecord(message, opts));
    const event: SQSEvent = { Records: records };
    let result: unknown;
    try {
      result = await opts.runner.invoke(opts.functionName, event);
    } catch (error) {
      opts.log(
        `function ${opts.functionName} failed on a batch of ${records.length}: ${(error as Error).stack ?? error}`,
      );
      return;
    }
    const done = messagesToDelete(records, result, opts.reportBatchItemFailures);
    if (done.length > 0) await deleteDone(done);
  }

  const loop = (async () => {
    while (running) {
      try {
        await retry(pollOnce, {
          policy: POLL_RETRY,
          signal: abort.signal,
          onRetry: (error) =>
            opts.log(`poller for ${opts.functionName} on ${opts.queueUrl}: ${(error as Error).message}`),
        });
      } catch (error) {
        // Only stop() ends the retries (POLL_RETRY never gives up).
        if (abort.signal.aborted) break;
        throw error;
      }
    }
  })();

  return {
    async stop() {
      running = false;
      abort.abort();
      await loop;
    },
  };
}
