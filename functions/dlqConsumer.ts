import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { handleDeadLetter } from '../shared/commands/deadLetter.ts';

/** The worker queues' dead-letter queue: ends dead-lettered commands as `undeliverable` (ReportBatchItemFailures). */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const ctx = commandsContextFromEnv();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleDeadLetter(ctx, record.body);
    } catch (error) {
      // An AWS fault: SQS redelivers just this record.
      console.error(JSON.stringify({ level: 'error', messageId: record.messageId, error: String(error) }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
