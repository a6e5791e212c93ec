// A fault-injecting HTTP proxy on 127.0.0.1 in front of one emulator: throttling answers and 500s, before or after the work.
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export type ProxiedService = 'dynamodb' | 'sqs';

/** What the proxy does to the requests it forwards; each rate is a probability per request, 0 to 1. */
export interface FaultRates {
  /** Answer a throttling error without forwarding (ProvisionedThroughputExceeded, ThrottlingException). */
  throttle: number;
  /** Answer 500 without forwarding. */
  errorBefore: number;
  /** Forward, let the emulator do the work, then answer 500 instead of its answer (the write happened). */
  errorAfter: number;
}

export const NO_FAULTS: Readonly<FaultRates> = Object.freeze({
  throttle: 0,
  errorBefore: 0,
  errorAfter: 0,
});

export interface FaultCounts {
  forwarded: number;
  throttled: number;
  errorsBefore: number;
  errorsAfter: number;
  /** The emulator could not be reached (down or restarting): the connection was dropped, as a dead one is. */
  upstreamDown: number;
}

export interface FaultProxy {
  service: ProxiedService;
  port: number;
  url: string;
  counts: FaultCounts;
  /** Replaces the rates (a fault window starts or ends). */
  setFaults(rates: Partial<FaultRates>): void;
  close(): Promise<void>;
}

/** The error shapes of the AWS JSON protocol, as DynamoDB and SQS send them; the SDK reads `__type`. */
const THROTTLE: Record<ProxiedService, { status: number; type: string; message: string }> = {
  dynamodb: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
  },
  sqs: { status: 400, type: 'com.amazonaws.sqs#ThrottlingException', message: 'Rate exceeded (injected)' },
};
const SERVER_ERROR: Record<ProxiedService, { status: number; type: string; message: string }> = {
  dynamodb: {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error (injected)',
  },
  sqs: { status: 500, type: 'com.amazonaws.sqs#InternalError', message: 'Internal error (injected)' },
};
function answerError(res: ServerResponse, shape: { status: number; type: string; message: string }): void {
  const body = JSON.stringify({ __type: shape.type, message: shape.message });
  res.writeHead(shape.status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': 'chaos-injected',
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolveBody(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface Forwarded {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function forward(upstreamPort: number, req: IncomingMessage, body: Buffer): Promise<Forwarded> {
  return new Promise((resolveAnswer, reject) => {
    const upstream = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolveAnswer({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    upstream.on('error', reject);
    upstream.end(body);
  });
}

/**
 * Starts a proxy on 127.0.0.1 that forwards every request to the emulator on `upstreamPort` and injects the faults
 * its rates ask for. An emulator that is down shows as a dropped connection (the SDK's ECONNRESET), as it would
 * without the proxy.
 */
export async function startFaultProxy(opts: {
  service: ProxiedService;
  upstreamPort: number;
  /** @default 0 (a free port) */
  port?: number;
  /** @default Math.random */
  random?: () => number;
}): Promise<FaultProxy> {
  const random = opts.random ?? Math.random;
  let rates: FaultRates = { ...NO_FAULTS };
  const counts: FaultCounts = {
    forwarded: 0,
    throttled: 0,
    errorsBefore: 0,
    errorsAfter: 0,
    upstreamDown: 0,
  };
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const roll = random();
    if (roll < rates.throttle) {
      counts.throttled++;
      answerError(res, THROTTLE[opts.service]);
      return;
    }
    if (roll < rates.throttle + rates.errorBefore) {
      counts.errorsBefore++;
      answerError(res, SERVER_ERROR[opts.service]);
      return;
    }
    let answer: Forwarded;
    try {
      answer = await forward(opts.upstreamPort, req, body);
    } catch {
      counts.upstreamDown++;
      res.socket?.destroy();
      return;
    }
    counts.forwarded++;
    if (random() < rates.errorAfter) {
      counts.errorsAfter++;
      answerError(res, SERVER_ERROR[opts.service]);
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy());
  });
  // Long polls (20 s) and the SDK's keep-alive sockets must not be cut by the server's own timeouts.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((listening) => server.listen(opts.port ?? 0, '127.0.0.1', listening));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    service: opts.service,
    port,
    url: `http://127.0.0.1:${port}`,
    counts,
    setFaults(next) {
      rates = { ...NO_FAULTS, ...next };
    },
    close: () =>
      new Promise<void>((closed) => {
        server.closeAllConnections();
        server.close(() => closed());
      }),
  };
}
