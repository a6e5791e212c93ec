/** The completions consumer: records each worker's last result with the state connector (ReportBatchItemFailures). */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { StateConnector } from '../shared/state/StateConnector.ts';
import { lastResultBatch, parseCompletionEvent } from '../shared/commands/lastResult.ts';
import type { CompletionEvent } from '../shared/commands/wire.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

/**
 * On the completions queue (batches of up to 100 gathered for 2 s): one state write per worker per batch,
 * shared by that worker's records. Powertools' batch processing answers the records whose write failed,
 * and throws when every record failed, so that Lambda backs off instead of polling on at full speed.
 */
export const handler = observed(async function lastResultHandler(event: SQSEvent): Promise<SQSBatchResponse> {
  // The invocation's table; one connector per table, so its id cache outlives the invocation.
  const connector = StateConnector.forEnv();
  const completions = new Map<string, CompletionEvent>();
  for (const record of event.Records) {
    const completion = parseCompletionEvent(record.body);
    if (completion) completions.set(record.messageId, completion);
  }
  const writeFor = lastResultBatch(connector, [...completions.values()], (worker, error) =>
    logger.error('last result not recorded; SQS redelivers its events', { worker, error }),
  );
  async function recordHandler(record: SQSRecord): Promise<void> {
    const completion = completions.get(record.messageId);
    if (completion) {
      await writeFor(completion);
      return;
    }
    // Its id and size, not its body: anyone who may send to the queue chooses what a body holds.
    logger.warn('dropped a message that is not a completion event', {
      messageId: record.messageId,
      bodyBytes: Buffer.byteLength(record.body),
    });
  }
  return processPartialResponse(event, recordHandler, new BatchProcessor(EventType.SQS));
});
