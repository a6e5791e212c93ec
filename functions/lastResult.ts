import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { StateConnector } from '../shared/state/StateConnector.ts';
import { parseCompletionEvent, recordLastResults } from '../shared/commands/lastResult.ts';
import type { CompletionRecord } from '../shared/commands/lastResult.ts';

/**
 * On the completions queue (batches of up to 100 gathered for 2 s): records each worker's last result with
 * the state connector, one write per worker per batch (ReportBatchItemFailures).
 */
let connector: StateConnector | undefined;

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  connector ??= StateConnector.fromEnv();
  const records: CompletionRecord[] = [];
  for (const record of event.Records) {
    const completion = parseCompletionEvent(record.body);
    if (completion) records.push({ messageId: record.messageId, event: completion });
    else
      console.log(
        JSON.stringify({
          level: 'warn',
          msg: 'dropped a message that is not a completion event',
          body: record.body.slice(0, 200),
        }),
      );
  }
  const failed = await recordLastResults(connector, records, (worker, error) =>
    console.error(JSON.stringify({ level: 'error', worker, error: String(error) })),
  );
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}
