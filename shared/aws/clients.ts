import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { countRequests } from './requestCounter.ts';

/**
 * One client per service per process, made on first use (not at import, so a Lambda cold start pays
 * only for what the invoked route touches). Endpoints, region and credentials come from the SDK's
 * standard environment variables, which the local stack sets to its emulators.
 */
let documentClient: DynamoDBDocumentClient | undefined;
let sqs: SQSClient | undefined;

export function dynamoDocumentClient(): DynamoDBDocumentClient {
  if (!documentClient) {
    const base = new DynamoDBClient({ maxAttempts: 5 });
    countRequests(base, 'dynamodb');
    documentClient = DynamoDBDocumentClient.from(base, {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    });
  }
  return documentClient;
}

export function sqsClient(): SQSClient {
  if (!sqs) {
    // Send to the configured endpoint, not the queue URL's host: fauxqs URLs name sqs.<region>.localhost,
    // which does not resolve; on AWS both are the same regional endpoint.
    sqs = new SQSClient({ maxAttempts: 5, useQueueUrlAsEndpoint: false });
    countRequests(sqs, 'sqs');
  }
  return sqs;
}
