// Creates infra/'s tables, queues and buckets (from the resolved `resources:`) in the emulators, and persisted workers' queues.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type StreamSpecification,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { WorkersContext } from '../shared/workers/context.ts';
import { workerKey } from '../shared/workers/keys.ts';
import { createWorkerQueue } from '../shared/workers/queues.ts';
import { BUCKET, QUEUE, TABLE, physicalName, queueArn, resolveIntrinsics } from './serverless/intrinsics.ts';
import type { CfnResource, IntrinsicContext } from './serverless/intrinsics.ts';
import type { Resolved, ResolvedMap } from './serverless/yaml.ts';
import { LocalStackError } from './errors.ts';

/**
 * Creates the tables and queues of infra/ (through the resolved `resources:`), the one source of truth.
 * Other resource types (alarms) have no local meaning and are skipped.
 */

export interface CreatedResources {
  /** Physical table names by logical id. */
  tables: Record<string, string>;
  /** Local queue URLs by queue name. */
  queueUrls: Record<string, string>;
  /** Bucket names by logical id. */
  buckets: Record<string, string>;
}

/**
 * Makes a bucket in fauxqs's S3 (path-style, as every local S3 request is). CreateBucket is idempotent there,
 * so a bucket made before a supervisor restart is kept. A plain PUT: no S3 client is needed for one call.
 */
async function createBucket(s3Endpoint: string, name: string): Promise<void> {
  const answer = await fetch(`${s3Endpoint}/${encodeURIComponent(name)}`, { method: 'PUT' });
  if (!answer.ok && answer.status !== 409)
    throw new LocalStackError(`CreateBucket ${name} answered ${answer.status}: ${await answer.text()}`, {
      details: { name, status: answer.status },
    });
}

async function createTable(
  dynamo: DynamoDBClient,
  name: string,
  properties: ResolvedMap,
  log: (line: string) => void,
): Promise<void> {
  const gsis = properties.GlobalSecondaryIndexes as unknown as GlobalSecondaryIndex[] | undefined;
  const billing = String(properties.BillingMode ?? 'PROVISIONED');
  const stream = properties.StreamSpecification as unknown as StreamSpecification | undefined;
  const throughput = { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: properties.AttributeDefinitions as unknown as AttributeDefinition[],
        KeySchema: properties.KeySchema as unknown as KeySchemaElement[],
        BillingMode: billing === 'PAY_PER_REQUEST' ? 'PAY_PER_REQUEST' : 'PROVISIONED',
        ...(billing === 'PAY_PER_REQUEST' ? {} : { ProvisionedThroughput: throughput }),
        // CloudFormation's StreamSpecification names the view only; the API wants StreamEnabled as well.
        ...(stream?.StreamViewType ? { StreamSpecification: { ...stream, StreamEnabled: true } } : {}),
        ...(gsis && gsis.length > 0
          ? {
              GlobalSecondaryIndexes: gsis.map((gsi) =>
                billing === 'PAY_PER_REQUEST' ? gsi : { ProvisionedThroughput: throughput, ...gsi },
              ),
            }
          : {}),
      }),
    );
  } catch (error) {
    // A persisted database (persistDir) already has it: keep it and its items.
    if (error instanceof ResourceInUseException) {
      log(`table ${name} exists; kept`);
      return;
    }
    throw error;
  }
  const ttl = properties.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (ttl?.AttributeName) {
    try {
      await dynamo.send(
        new UpdateTimeToLiveCommand({
          TableName: name,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled !== false },
        }),
      );
    } catch (error) {
      // DynamoDB Local accepts TTL settings but has refused them in some versions; expiry is then not emulated.
      log(`TTL on ${name} not set locally: ${(error as Error).message}`);
    }
  }
}

/** SQS attributes are strings; RedrivePolicy is JSON text holding the dead-letter queue's ARN. */
function queueAttributes(properties: ResolvedMap): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(properties)) {
    if (key === 'QueueName' || key === 'Tags' || value === null) continue;
    attributes[key] = typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  return attributes;
}

/** Queue logical ids in an order where every dead-letter queue comes before the queues that point at it. */
function queueOrder(resources: Record<string, CfnResource>): string[] {
  const order: string[] = [];
  const visit = (id: string, path: string[]): void => {
    if (order.includes(id)) return;
    if (path.includes(id))
      throw new LocalStackError(`queues redrive to each other: ${[...path, id].join(' → ')}`, {
        details: { path },
      });
    const target = (resources[id]?.Properties.RedrivePolicy as ResolvedMap | undefined)?.deadLetterTargetArn;
    const getAtt = (target as { 'Fn::GetAtt'?: Resolved[] } | undefined)?.['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string' && resources[getAtt[0]]?.Type === QUEUE)
      visit(getAtt[0], [...path, id]);
    order.push(id);
  };
  for (const [id, resource] of Object.entries(resources)) if (resource.Type === QUEUE) visit(id, []);
  return order;
}

export async function createResources(opts: {
  dynamo: DynamoDBClient;
  sqs: SQSClient;
  resources: Record<string, CfnResource>;
  region: string;
  stackName: string;
  /** fauxqs's S3 endpoint (its one port serves SQS and S3). */
  s3Endpoint: string;
  log: (line: string) => void;
}): Promise<CreatedResources> {
  const { resources, stackName } = opts;
  const created: CreatedResources = { tables: {}, queueUrls: {}, buckets: {} };
  // Queue URLs are known only once created; any Ref to a queue not yet created is a bug in queueOrder.
  const ctx: IntrinsicContext = {
    region: opts.region,
    stackName,
    resources,
    queueUrl(name) {
      const url = created.queueUrls[name];
      if (!url)
        throw new LocalStackError(`queue ${name} is referenced before it exists`, { details: { name } });
      return url;
    },
  };
  const tables = Object.entries(resources).filter(([, resource]) => resource.Type === TABLE);
  const tablesDone = Promise.all(
    tables.map(async ([id, resource]) => {
      const name = physicalName(id, resource, stackName);
      const properties = resolveIntrinsics(resource.Properties, ctx, `resources.${id}`) as ResolvedMap;
      await createTable(opts.dynamo, name, properties, opts.log);
      created.tables[id] = name;
    }),
  );
  for (const id of queueOrder(resources)) {
    const resource = resources[id] as CfnResource;
    const name = physicalName(id, resource, stackName);
    const properties = resolveIntrinsics(resource.Properties, ctx, `resources.${id}`) as ResolvedMap;
    const { QueueUrl } = await opts.sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: queueAttributes(properties) }),
    );
    if (!QueueUrl) throw new LocalStackError(`CreateQueue ${name} returned no URL`, { details: { name } });
    created.queueUrls[name] = QueueUrl;
    opts.log(`queue ${name} (${queueArn(opts.region, name)})`);
  }
  for (const [id, resource] of Object.entries(resources).filter(([, r]) => r.Type === BUCKET)) {
    const name = physicalName(id, resource, stackName);
    await createBucket(opts.s3Endpoint, name);
    created.buckets[id] = name;
    opts.log(`bucket ${name}`);
  }
  await tablesDone;
  return created;
}

/**
 * Creates the queue of every worker registered in the commands table. fauxqs keeps its queues in memory, so a
 * stack started on --persist data finds its worker records but not their queues, and every command sent to
 * those workers would fail until an admin rotated each one. CreateQueue is idempotent for equal attributes, so a
 * queue that exists is kept. fauxqs finds a queue by its whole URL, port included, and this stack's fauxqs has a
 * new port: a record whose queueUrl differs gets the new one (conditioned on the old, so a rotation in between
 * wins). A Scan: the local table is small, and this runs once at start. Answers the count.
 */
export async function recreateWorkerQueues(
  ctx: WorkersContext,
  log: (line: string) => void,
): Promise<number> {
  const sk = workerKey('').sk;
  let count = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await ctx.db.send(
      new ScanCommand({
        TableName: ctx.tableName,
        FilterExpression: 'sk = :sk AND begins_with(pk, :pk)',
        ExpressionAttributeValues: { ':sk': sk, ':pk': workerKey('').pk },
        ProjectionExpression: '#name, queueUrl',
        ExpressionAttributeNames: { '#name': 'name' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      if (typeof item.name !== 'string') continue;
      const queueUrl = await createWorkerQueue(ctx, item.name);
      if (queueUrl !== item.queueUrl) {
        try {
          await ctx.db.send(
            new UpdateCommand({
              TableName: ctx.tableName,
              Key: workerKey(item.name),
              UpdateExpression: 'SET queueUrl = :new',
              ConditionExpression: 'queueUrl = :old',
              ExpressionAttributeValues: { ':new': queueUrl, ':old': item.queueUrl },
            }),
          );
        } catch (error) {
          // Rotated or deleted meanwhile: that write set the queue it wanted.
          if (!(error instanceof ConditionalCheckFailedException)) throw error;
        }
      }
      count++;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  if (count > 0) log(`queues of ${count} persisted worker(s) recreated`);
  return count;
}
