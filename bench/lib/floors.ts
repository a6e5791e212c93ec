// Owns the floors the benchmarks compare with: the least a command can cost.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Spawns `true` and waits for its exit: the least any remote command can cost on the worker. */
export function spawnTrue(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('true', [], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', () => resolve());
  });
}

export async function spawnTrueSamples(count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const start = performance.now();
    await spawnTrue();
    samples.push(performance.now() - start);
  }
  return samples;
}

/** A node HTTP server on 127.0.0.1 that answers a small JSON body at once, before any handler or database. */
export interface BareServer {
  url: string;
  close(): Promise<void>;
}

export async function bareServer(): Promise<BareServer> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end('{"commandId":"floor"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/commands`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One fetch POST (the client's transport) of a small body to `url`, answer read. */
export async function loopbackRoundTrip(url: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer floor' },
    body: '{"worker":"floor","command":"shell","args":{"command":["true"]}}',
  });
  await response.text();
}

/** The least one API call can cost: loopback round trips to a bare server. */
export async function loopbackRoundTripSamples(count: number): Promise<number[]> {
  const server = await bareServer();
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const start = performance.now();
      await loopbackRoundTrip(server.url);
      samples.push(performance.now() - start);
    }
  } finally {
    await server.close();
  }
  return samples;
}
