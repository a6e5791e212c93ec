// Lambda's DynamoDB stream event source mapping, locally: reads DynamoDB Local's stream and invokes the function with batches.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LocalStackError } from './errors.ts';
import type { FunctionRunner } from './handlers.ts';
import type { Poller } from './pollers.ts';
import { isMap } from './serverless/yaml.ts';
import type { Resolved } from './serverless/yaml.ts';

/**
 * serverless.yml's `stream` events of type dynamodb, served from DynamoDB Local's own stream (it has one, as
 * DynamoDB does, when the table's StreamSpecification asks: local/resources.ts passes it on). Each shard is read
 * with GetRecords; records come to the function in batches of up to `batchSize`, in order, as Lambda's JSON
 * (binary values base64). Differences from Lambda: a shard is polled every `pollIntervalMs` when idle (Lambda
 * polls about 4 times a second, so a stream-fed function is slower there), `filterPatterns` are not applied
 * (the function must ignore what it does not want, as fanOut does), and a batch whose invocation throws is
 * logged and passed over rather than retried.
 */

export interface StreamTriggerDef {
  functionName: string;
  /** The logical id of the table whose StreamArn the event names. */
  tableLogicalId: string;
  batchSize: number;
  /** LATEST (the default) or TRIM_HORIZON. */
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
}

/** The `stream` events of serverless.yml's functions that name a table of resources by `Fn::GetAtt [Table, StreamArn]`. */
export function streamTriggers(functions: Resolved | undefined): StreamTriggerDef[] {
  const triggers: StreamTriggerDef[] = [];
  if (!isMap(functions)) return triggers;
  for (const [functionName, fn] of Object.entries(functions)) {
    const events = isMap(fn) && Array.isArray(fn.events) ? fn.events : [];
    for (const event of events) {
      if (!isMap(event) || !isMap(event.stream)) continue;
      const spec = event.stream;
      if (spec.type !== 'dynamodb' || spec.enabled === false || !isMap(spec.arn)) continue;
      const getAtt = spec.arn['Fn::GetAtt'];
      if (!Array.isArray(getAtt) || getAtt[1] !== 'StreamArn') continue;
      triggers.push({
        functionName,
        tableLogicalId: String(getAtt[0]),
        batchSize: Number(spec.batchSize ?? 100),
        startingPosition: spec.startingPosition === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : 'LATEST',
      });
    }
  }
  return triggers;
}

export interface StreamPollerOptions {
  dynamo: DynamoDBClient;
  /** DynamoDB Local's credentials (its endpoint is `dynamo`'s). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  runner: FunctionRunner;
  trigger: StreamTriggerDef;
  tableName: string;
  region: string;
  /** Wait between reads of an idle shard. @default 25 */
  pollIntervalMs?: number;
  log: (line: string) => void;
}

/** Lambda's JSON of an attribute value: binary as base64, as the event a deployed function gets. */
function lambdaValue(value: AttributeValue): Record<string, unknown> {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(lambdaValue) };
  if (value.M !== undefined) return { M: lambdaImage(value.M) };
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

function lambdaImage(image: Record<string, AttributeValue> | undefined): Record<string, never> {
  return Object.fromEntries(
    Object.entries(image ?? {}).map(([name, value]) => [name, lambdaValue(value)]),
  ) as Record<string, never>;
}

function lambdaRecord(record: StreamRecord, streamArn: string, region: string): DynamoDBRecord {
  const data = record.dynamodb ?? {};
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: region,
    eventSourceARN: streamArn,
    dynamodb: {
      ApproximateCreationDateTime: data.ApproximateCreationDateTime
        ? Math.floor(data.ApproximateCreationDateTime.getTime() / 1000)
        : undefined,
      Keys: lambdaImage(data.Keys),
      ...(data.NewImage ? { NewImage: lambdaImage(data.NewImage) } : {}),
      ...(data.OldImage ? { OldImage: lambdaImage(data.OldImage) } : {}),
      SequenceNumber: data.SequenceNumber,
      SizeBytes: data.SizeBytes,
      StreamViewType: data.StreamViewType,
    },
  } as DynamoDBRecord;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function startStreamPoller(opts: StreamPollerOptions): Promise<Poller> {
  const { trigger, log } = opts;
  const endpoint = await opts.dynamo.config.endpoint?.();
  const streams = new DynamoDBStreamsClient({
    region: opts.region,
    credentials: opts.credentials,
    ...(endpoint ? { endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}` } : {}),
  });
  const pollIntervalMs = opts.pollIntervalMs ?? 25;
  const { Table } = await opts.dynamo.send(new DescribeTableCommand({ TableName: opts.tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) {
    log(`table ${opts.tableName} has no stream: ${trigger.functionName} gets no events`);
    return { stop: async () => undefined };
  }
  /** Open iterators by shard id; a shard whose iterator ran out is done. */
  const iterators = new Map<string, string>();
  const done = new Set<string>();
  let stopped = false;

  async function discover(first: boolean): Promise<void> {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const shardId = shard.ShardId;
      if (!shardId || iterators.has(shardId) || done.has(shardId)) continue;
      const closed = shard.SequenceNumberRange?.EndingSequenceNumber !== undefined;
      // At start, closed shards hold the past (LATEST skips it); a shard found later is read from its start.
      if (first && closed && trigger.startingPosition === 'LATEST') {
        done.add(shardId);
        continue;
      }
      const type = first ? trigger.startingPosition : 'TRIM_HORIZON';
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shardId, ShardIteratorType: type }),
      );
      if (ShardIterator) iterators.set(shardId, ShardIterator);
    }
  }

  async function readShards(): Promise<number> {
    let read = 0;
    for (const [shardId, iterator] of [...iterators]) {
      const page = await streams.send(
        new GetRecordsCommand({ ShardIterator: iterator, Limit: trigger.batchSize }),
      );
      if (page.NextShardIterator) iterators.set(shardId, page.NextShardIterator);
      else {
        iterators.delete(shardId);
        done.add(shardId);
      }
      const records = page.Records ?? [];
      if (records.length === 0) continue;
      read += records.length;
      const event: DynamoDBStreamEvent = {
        Records: records.map((record) => lambdaRecord(record, streamArn!, opts.region)),
      };
      try {
        await opts.runner.invoke(trigger.functionName, event);
      } catch (error) {
        log(
          `function ${trigger.functionName} failed on ${records.length} stream records: ${(error as Error).stack ?? error}`,
        );
      }
    }
    return read;
  }

  await discover(true);
  const loop = (async () => {
    let lastDiscovery = Date.now();
    while (!stopped) {
      try {
        if (iterators.size === 0 || Date.now() - lastDiscovery > 1_000) {
          await discover(false);
          lastDiscovery = Date.now();
        }
        if ((await readShards()) === 0) await sleep(pollIntervalMs);
      } catch (error) {
        if (stopped) break;
        log(`stream poller of ${trigger.functionName}: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      streams.destroy();
    },
  };
}

/** A poller for each of serverless.yml's dynamodb `stream` events, on the tables of resources (`tables` by logical id). */
export async function startStreamTriggers(opts: {
  functions: Resolved | undefined;
  tables: Record<string, string>;
  dynamo: DynamoDBClient;
  credentials: { accessKeyId: string; secretAccessKey: string };
  runner: FunctionRunner;
  region: string;
  pollIntervalMs: number;
  log: (line: string) => void;
}): Promise<Poller[]> {
  const pollers: Poller[] = [];
  for (const trigger of streamTriggers(opts.functions)) {
    const tableName = opts.tables[trigger.tableLogicalId];
    if (!tableName)
      throw new LocalStackError(
        `function ${trigger.functionName} reads the stream of ${trigger.tableLogicalId}, which is not a table of resources:`,
        { details: { function: trigger.functionName } },
      );
    pollers.push(await startStreamPoller({ ...opts, trigger, tableName }));
  }
  return pollers;
}
