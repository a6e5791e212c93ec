// What a function printed while a test acted: its JSON log lines and EMF metric lines, and a Lambda context to pass.
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export type PrintedLine = Record<string, unknown>;

/** Every non-empty line of `text` parsed as a JSON object, or undefined when one is not. */
function jsonLines(text: string): PrintedLine[] | undefined {
  const lines: PrintedLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      lines.push(value as PrintedLine);
    } catch {
      return undefined;
    }
  }
  return lines.length > 0 ? lines : undefined;
}

/**
 * Runs `act` and keeps the JSON lines written to stdout and stderr meanwhile (Powertools writes its logs and
 * EMF there), in order; anything else written (the test runner's own output) goes through as usual.
 */
export async function printed<T>(act: () => Promise<T>): Promise<{ result: T; lines: PrintedLine[] }> {
  const lines: PrintedLine[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((stream) => stream.write);
  streams.forEach((stream, i) => {
    stream.write = function capture(chunk: unknown, ...rest: unknown[]): boolean {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const parsed = jsonLines(text);
      if (parsed) {
        lines.push(...parsed);
        return true;
      }
      return (writes[i] as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    } as typeof stream.write;
  });
  try {
    return { result: await act(), lines };
  } finally {
    streams.forEach((stream, i) => (stream.write = writes[i]!));
  }
}

/** A Lambda context as the runtime passes it, with a fresh request id. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The EMF lines among `lines`: one CloudWatch metrics object each. */
export function emfLines(lines: PrintedLine[]): PrintedLine[] {
  return lines.filter((line) => typeof line._aws === 'object' && line._aws !== null);
}

/** The EMF lines that carry metric `name`, with their values and dimensions. */
export function metricLines(lines: PrintedLine[], name: string): PrintedLine[] {
  return emfLines(lines).filter((line) => name in line);
}
