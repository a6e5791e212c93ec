/** The worker queues' dead-letter queue: ends dead-lettered commands as `undeliverable` (ReportBatchItemFailures). */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { handleDeadLetter } from '../shared/commands/deadLetter.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

export const handler = observed(async function dlqConsumerHandler(
  event: SQSEvent,
): Promise<SQSBatchResponse> {
  const ctx = commandsContextFromEnv();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await handleDeadLetter(ctx, record.body);
    } catch (error) {
      // An AWS fault: SQS redelivers just this record.
      logger.error('dead-lettered message not handled; SQS redelivers it', {
        messageId: record.messageId,
        error,
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
});
