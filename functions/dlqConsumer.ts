/** The worker queues' dead-letter queue: ends dead-lettered commands as `undeliverable` (ReportBatchItemFailures). */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { commandsContextFromEnv } from '../shared/commands/context.ts';
import { handleDeadLetter } from '../shared/commands/deadLetter.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

/**
 * Powertools' batch processing answers the records that failed (an AWS fault: SQS redelivers just those),
 * and throws when every record failed, so that Lambda backs off instead of polling on at full speed.
 */
export const handler = observed(async function dlqConsumerHandler(
  event: SQSEvent,
): Promise<SQSBatchResponse> {
  const ctx = commandsContextFromEnv();
  async function recordHandler(record: SQSRecord): Promise<void> {
    try {
      await handleDeadLetter(ctx, record.body);
    } catch (error) {
      logger.error('dead-lettered message not handled; SQS redelivers it', {
        messageId: record.messageId,
        error,
      });
      throw error;
    }
  }
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS));
});
