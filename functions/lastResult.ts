import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { StateConnector } from '../shared/state/StateConnector.ts';
import { parseCompletionEvent, recordLastResult } from '../shared/commands/lastResult.ts';

/** On the completions queue: records each worker's last result with the state connector (ReportBatchItemFailures). */
let connector: StateConnector | undefined;

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  connector ??= StateConnector.fromEnv();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const completion = parseCompletionEvent(record.body);
    if (!completion) {
      console.log(
        JSON.stringify({
          level: 'warn',
          msg: 'dropped a message that is not a completion event',
          body: record.body.slice(0, 200),
        }),
      );
      continue;
    }
    try {
      await recordLastResult(connector, completion);
    } catch (error) {
      console.error(JSON.stringify({ level: 'error', messageId: record.messageId, error: String(error) }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
