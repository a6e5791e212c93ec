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
import type { FunctionRunner } from './handlers.ts';

/**
 * Lambda's SQS event source mapping, locally: long-polls a queue, invokes the function with a batch and deletes
 * what succeeded. With ReportBatchItemFailures, everything but the reported items is deleted; a throw deletes
 * nothing, so the whole batch comes back after the visibility timeout, as on AWS.
 */

export interface PollerOptions {
  sqs: SQSClient;
  runner: FunctionRunner;
  functionName: string;
  queueUrl: string;
  queueArn: string;
  region: string;
  batchSize: number;
  reportBatchItemFailures: boolean;
  /** Long-poll wait per ReceiveMessage. @default 20 */
  waitTimeSeconds?: number;
  log: (line: string) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

/** Pause after a failed ReceiveMessage (emulator restarting, stack stopping) before the next one. */
const RECEIVE_RETRY_MS = 500;

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

  async function pollOnce(): Promise<void> {
    const { Messages } = await opts.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.queueUrl,
        MaxNumberOfMessages: opts.batchSize,
        WaitTimeSeconds: opts.waitTimeSeconds ?? 20,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    if (!Messages || Messages.length === 0) return;
    const records = Messages.map((message) => toRecord(message, opts));
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
    if (done.length === 0) return;
    const { Failed } = await opts.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: opts.queueUrl,
        Entries: done.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })),
      }),
    );
    for (const failure of Failed ?? [])
      opts.log(`delete after ${opts.functionName} failed: ${failure.Message}`);
  }

  const loop = (async () => {
    while (running) {
      try {
        await pollOnce();
      } catch (error) {
        if (!running) break;
        opts.log(`poller for ${opts.functionName} on ${opts.queueUrl}: ${(error as Error).message}`);
        await new Promise((wake) => setTimeout(wake, RECEIVE_RETRY_MS));
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
