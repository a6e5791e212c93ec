// Owns the trivial command the dispatch, throughput and bill figures are about.
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalStack } from '../../local/index.ts';
import { commandKey } from '../../shared/commands/keys.ts';
import * as ENV from '../../shared/config.ts';
import type { CommandsClient } from '../../shared/client/CommandsClient.ts';
import type { CommandView } from '../../shared/commands/wire.ts';

/** The trivial command every dispatch, throughput and bill figure is about: the shell running `true`. */
export const TRIVIAL_COMMAND = { command: 'shell', args: { command: ['true'], workdir: '.' } } as const;

export class CommandTimeoutError extends Error {
  readonly commandId: string;
  readonly lastSeen: CommandView | undefined;

  constructor(commandId: string, timeoutMs: number, lastSeen: CommandView | undefined) {
    super(
      `command ${commandId} not complete after ${timeoutMs} ms (last status ${lastSeen?.status ?? 'unknown'})`,
    );
    this.name = 'CommandTimeoutError';
    this.commandId = commandId;
    this.lastSeen = lastSeen;
  }
}

/** Polls GET /v1/commands/{id} every `intervalMs` until complete; bounded by `timeoutMs`. */
export async function waitComplete(
  client: CommandsClient,
  commandId: string,
  opts: { intervalMs: number; timeoutMs: number },
): Promise<CommandView> {
  const deadline = performance.now() + opts.timeoutMs;
  let view: CommandView | undefined;
  while (performance.now() < deadline) {
    view = await client.getCommand(commandId);
    if (view.status === 'complete') return view;
    await sleep(opts.intervalMs);
  }
  throw new CommandTimeoutError(commandId, opts.timeoutMs, view);
}

/** Epoch milliseconds with sub-millisecond precision, comparable to the server's ISO timestamps. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Waits until every command in `ids` is complete, reading their records straight from DynamoDB with a
 * client outside the request tally, so that waiting adds nothing to the bill being measured. Reads in
 * order and pauses at the first unfinished one; bounded by `timeoutMs`.
 */
export async function waitAllCompleteUncounted(
  stack: LocalStack,
  ids: string[],
  opts: { intervalMs: number; timeoutMs: number },
): Promise<number> {
  const dynamo = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.env[ENV.awsEndpointUrlDynamodb],
      region: stack.env[ENV.awsRegion],
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  const deadline = performance.now() + opts.timeoutMs;
  let cursor = 0;
  try {
    while (cursor < ids.length && performance.now() < deadline) {
      const { Item } = await dynamo.send(
        new GetCommand({ TableName: stack.env[ENV.commandsTable], Key: commandKey(ids[cursor]!) }),
      );
      if (Item?.status === 'complete') cursor += 1;
      else await sleep(opts.intervalMs);
    }
  } finally {
    dynamo.destroy();
  }
  return cursor;
}
