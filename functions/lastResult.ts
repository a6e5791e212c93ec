/** The completions consumer: records each worker's last result with the state connector (ReportBatchItemFailures). */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { StateConnector } from '../shared/state/StateConnector.ts';
import { parseCompletionEvent, recordLastResults } from '../shared/commands/lastResult.ts';
import type { CompletionRecord } from '../shared/commands/lastResult.ts';
import { logger } from '../shared/observability.ts';
import { observed } from './lib/lambda.ts';

/**
 * On the completions queue (batches of up to 100 gathered for 2 s): one state write per worker per batch.
 */
let connector: StateConnector | undefined;

export const handler = observed(async function lastResultHandler(event: SQSEvent): Promise<SQSBatchResponse> {
  connector ??= StateConnector.fromEnv();
  const records: CompletionRecord[] = [];
  for (const record of event.Records) {
    const completion = parseCompletionEvent(record.body);
    if (completion) records.push({ messageId: record.messageId, event: completion });
    // Its id and size, not its body: anyone who may send to the queue chooses what a body holds.
    else
      logger.warn('dropped a message that is not a completion event', {
        messageId: record.messageId,
        bodyBytes: Buffer.byteLength(record.body),
      });
  }
  const failed = await recordLastResults(connector, records, (worker, error) =>
    logger.error('last result not recorded; SQS redelivers its events', { worker, error }),
  );
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
});
