/**
 * us-east-1 on-demand prices, as the issue gives them (checked against the AWS price pages, 2025).
 * Lambda's GB-second price is for arm64, the architecture serverless.yml deploys.
 */
export const PRICES = {
  /** HTTP API, per request (first 300 million a month). */
  httpApiRequest: 1.0 / 1e6,
  /** Lambda, per invocation. */
  lambdaRequest: 0.2 / 1e6,
  /** Lambda arm64, per GB-second of duration (first 7.5 billion GB-s a month). */
  lambdaGbSecond: 0.0000133334,
  /** SQS standard queue, per request per 64 KiB chunk of payload. */
  sqsRequestChunk: 0.4 / 1e6,
  /** DynamoDB on-demand, per write request unit (failed conditional writes included). */
  dynamoWru: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit. */
  dynamoRru: 0.125 / 1e6,
  /** DynamoDB Standard table class, storage per GB-month (tables and their indexes). */
  dynamoStorageGbMonth: 0.25,
  /** DynamoDB point-in-time recovery (continuous backups), per GB-month of the table's size. */
  dynamoPitrGbMonth: 0.2,
  /** CloudWatch Logs, ingestion per GB (standard log class). */
  logsIngestGb: 0.5,
  /** CloudWatch Logs, storage per GB-month (compressed; taken here at the ingested size, an upper bound). */
  logsStorageGbMonth: 0.03,
  /** S3 Standard, per PUT, COPY, POST or LIST request (a log object's upload). */
  s3Put: 0.005 / 1000,
  /** S3 Standard, per GET, HEAD or other read request (the API's check of a log object, a page's read of it). */
  s3Get: 0.0004 / 1000,
  /** S3 Standard, storage per GB-month (first 50 TB). */
  s3StorageGbMonth: 0.023,
} as const;

/** What one workload cost, in the units AWS bills; `dollars` prices them with PRICES. */
export interface BillUnits {
  httpRequests: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  sqsRequestChunks: number;
  dynamoWru: number;
  dynamoRru: number;
  /** S3 writes and reads (log objects): counted where a workload makes them, absent (0) elsewhere. */
  s3Puts?: number;
  s3Gets?: number;
}

export function dollars(units: BillUnits): Record<keyof BillUnits | 'total', number> {
  const parts = {
    httpRequests: units.httpRequests * PRICES.httpApiRequest,
    lambdaInvocations: units.lambdaInvocations * PRICES.lambdaRequest,
    lambdaGbSeconds: units.lambdaGbSeconds * PRICES.lambdaGbSecond,
    sqsRequestChunks: units.sqsRequestChunks * PRICES.sqsRequestChunk,
    dynamoWru: units.dynamoWru * PRICES.dynamoWru,
    dynamoRru: units.dynamoRru * PRICES.dynamoRru,
    s3Puts: (units.s3Puts ?? 0) * PRICES.s3Put,
    s3Gets: (units.s3Gets ?? 0) * PRICES.s3Get,
  };
  return { ...parts, total: Object.values(parts).reduce((sum, value) => sum + value, 0) };
}
