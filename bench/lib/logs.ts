// Owns the log benchmark's cases: commands whose whole output is known in advance.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { LocalStack } from '../../local/index.ts';
import type { CommandsClient } from '../../shared/client/CommandsClient.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';
import { epochNow, waitComplete } from './commands.ts';
import { itemSize } from './itemSize.ts';
import { repoRoot } from './paths.ts';
import { runTimed } from './processes.ts';

/** A command whose whole output is known in advance, so the stored log can be checked byte for byte. */
export interface LogCase {
  name: string;
  /** The shell script the worker runs (`sh -c`); its stdout is the log. */
  script: string;
  bytes: number;
  sha256: string;
}

const YES_LINE = 'hello\n';

/**
 * `yes hello`, cut at the last whole line within `bytes` (50 MiB less 2 bytes): the most compressible log there
 * is, and Buildbot's own benchmark. Whole lines, because the stock worker (--engine buildbot-worker) ends an
 * unterminated last line with a newline (docs/conformance.md), which the byte-exact check would count as wrong.
 */
export function yesHelloCase(size: number): LogCase {
  const bytes = size - (size % YES_LINE.length);
  const hash = createHash('sha256');
  const block = Buffer.from(YES_LINE.repeat(65536 / YES_LINE.length + 1)).subarray(0, 65532); // whole lines
  let left = bytes;
  while (left > 0) {
    const part = block.subarray(0, Math.min(left, block.length));
    hash.update(part);
    left -= part.length;
  }
  return { name: 'yes hello', script: `yes hello | head -c ${bytes}`, bytes, sha256: hash.digest('hex') };
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * `lines` lines of 1000 bytes (999 pseudo-random base64 characters and a newline) written to a file
 * that the command cats: long lines that barely compress (6 bits of 8), the hard case for storage.
 * The generator is seeded, so the content (and its hash) is the same on every run.
 */
export async function longLinesCase(lines: number): Promise<LogCase> {
  // In the checkout's git-ignored .local-data/, rewritten by each run, rather than left in the temp directory.
  const dir = join(repoRoot, '.local-data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-lines-${lines}.txt`);
  const out = createWriteStream(file);
  const hash = createHash('sha256');
  let state = 0x9e3779b9;
  const line = Buffer.alloc(1000);
  line[999] = 0x0a;
  for (let i = 0; i < lines; i += 1) {
    for (let c = 0; c < 999; c += 1) {
      // xorshift32: fast, deterministic, plenty random for a log.
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      line[c] = ALPHABET.charCodeAt((state >>> 0) & 63);
    }
    hash.update(line);
    if (!out.write(Buffer.from(line))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { name: '1000-char lines', script: `cat ${file}`, bytes: lines * 1000, sha256: hash.digest('hex') };
}

/** The floor: the same script with its output piped to /dev/null, no agent, no network. */
export async function bareRunMs(logCase: LogCase): Promise<number> {
  const { wallMs } = await runTimed('sh', ['-c', `${logCase.script} > /dev/null`]);
  return wallMs;
}

export interface LogRun {
  commandId: string;
  /** POST → completedAt (server clock). */
  completeMs: number;
  /** POST → the whole stdout read back through GET .../logs/stdout and its sha256 checked. */
  endToEndMs: number;
  byteExact: boolean;
  readBytes: number;
  /** Sum of DynamoDB item sizes under the command's partition (record + update batches). */
  storedBytes: number;
  storedItems: number;
}

/**
 * Visits every item under one command's partition key (pages followed), optionally filtered and projected. A
 * client of its own, outside the request tally: measuring must not add to the bill it measures.
 */
export async function forEachCommandItem(
  stack: LocalStack,
  commandId: string,
  visit: (item: Record<string, AttributeValue>) => void,
  query: { filter?: string; projection?: string } = {},
): Promise<void> {
  const dynamo = new DynamoDBClient({
    endpoint: stack.env[ENV.awsEndpointUrlDynamodb],
    region: stack.env[ENV.awsRegion],
    credentials: {
      accessKeyId: stack.env[ENV.awsAccessKeyId] ?? 'local',
      secretAccessKey: stack.env[ENV.awsSecretAccessKey] ?? 'local',
    },
  });
  let startKey: Record<string, AttributeValue> | undefined;
  try {
    do {
      const page = await dynamo.send(
        new QueryCommand({
          TableName: stack.env[ENV.commandsTable],
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: commandKey(commandId).pk } },
          ...(query.filter ? { FilterExpression: query.filter } : {}),
          ...(query.projection ? { ProjectionExpression: query.projection } : {}),
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) visit(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  } finally {
    dynamo.destroy();
  }
}

/** Bytes DynamoDB holds for one command: every item under its partition key, sized by DynamoDB's rules. */
export async function storedBytes(
  stack: LocalStack,
  commandId: string,
): Promise<{ bytes: number; items: number }> {
  let bytes = 0;
  let items = 0;
  await forEachCommandItem(stack, commandId, (item) => {
    bytes += itemSize(item);
    items += 1;
  });
  return { bytes, items };
}

/** Runs one log case on `worker` and reads its stdout back; bounded by `timeoutMs`. */
export async function runLogCase(
  stack: LocalStack,
  client: CommandsClient,
  worker: string,
  logCase: LogCase,
  timeoutMs: number,
): Promise<LogRun> {
  const start = performance.now();
  const startEpoch = epochNow();
  const { commandId } = await client.startCommand({
    worker,
    command: 'shell',
    args: { command: ['sh', '-c', logCase.script], workdir: '.' },
  });
  const view = await waitComplete(client, commandId, { intervalMs: 20, timeoutMs });
  const completeMs = Date.parse(view.completedAt ?? view.createdAt) - startEpoch;
  // The log `stdout` is the command's output byte for byte, read as stored: the text a user downloads.
  const hash = createHash('sha256');
  let readBytes = 0;
  // Through GET .../logs/stdout/links: log objects (text that barely compresses) come from S3 itself.
  for await (const bytes of client.readLogBytes(commandId, 'stdout')) {
    hash.update(bytes);
    readBytes += bytes.length;
  }
  const endToEndMs = performance.now() - start;
  const stored = await storedBytes(stack, commandId);
  return {
    commandId,
    completeMs,
    endToEndMs,
    byteExact: hash.digest('hex') === logCase.sha256 && readBytes === logCase.bytes,
    readBytes,
    storedBytes: stored.bytes,
    storedItems: stored.items,
  };
}
