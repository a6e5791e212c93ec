// The SQS event Lambda hands the completions consumer, built from message ids and bodies.
import type { SQSEvent } from 'aws-lambda';

/** An SQS event from the completions queue, one record per `messageId: body` entry, in order. */
export function sqsEvent(bodies: Record<string, string>): SQSEvent {
  return {
    Records: Object.entries(bodies).map(([messageId, body]) => ({
      messageId,
      receiptHandle: `receipt-${messageId}`,
      body,
      attributes: {} as SQSEvent['Records'][number]['attributes'],
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:completions',
      awsRegion: 'us-east-1',
    })),
  };
}
