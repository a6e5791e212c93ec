import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Spawning `true` and waiting for its exit: the least any remote command can cost on the worker. */
export async function spawnTrueSamples(count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const start = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn('true', [], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', () => resolve());
    });
    samples.push(performance.now() - start);
  }
  return samples;
}

/**
 * One loopback HTTP round trip with fetch (the client's transport) to a node server that answers a
 * small JSON body at once: the least one API call can cost, before any handler or database.
 */
export async function loopbackRoundTripSamples(count: number): Promise<number[]> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end('{"commandId":"floor"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/commands`;
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i += 1) {
      const start = performance.now();
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer floor' },
        body: '{"worker":"floor","command":"shell","args":{"command":["true"]}}',
      });
      await response.text();
      samples.push(performance.now() - start);
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  return samples;
}
