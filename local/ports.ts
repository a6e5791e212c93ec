// Owns finding a free loopback port, for a process that cannot listen on port 0 itself (DynamoDB Local, fixed stacks).
import { createServer } from 'node:net';

/** A port the OS considers free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
