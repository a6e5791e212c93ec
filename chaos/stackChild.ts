// The chaos suite's stack process: a local stack on persisted data and fixed ports, so it can be SIGKILLed and restarted.
/**
 * Run as `node --import tsx chaos/stackChild.ts '<StackChildConfig JSON>'` with an IPC channel (chaos/stack.ts).
 * Sends `{ ready: StackChildReady }` once the stack serves, answers `'pids'` with the current pids, and stops when
 * the channel closes (the suite ended, or died). Killed with SIGKILL, its emulator supervisor follows it (its stdin
 * closes), and a new child on the same ports and data directory serves the same API URL, tables and queue URLs.
 */
import { startLocalStack } from '../local/index.ts';

export interface StackChildConfig {
  persistDir: string;
  apiPort: number;
  emulatorPorts: { dynamodb: number; sqs: number };
  /** The fault proxies the functions reach the emulators through. */
  endpoints: { dynamodb: string; sqs: string };
  pollWaitSeconds: number;
}

export interface StackPids {
  stack: number;
  supervisor: number;
  java: number;
}

export interface StackChildReady {
  apiUrl: string;
  env: Record<string, string>;
  tokens: { admin: string; client: string };
  pids: StackPids;
}

if (!process.send) throw new Error('chaos/stackChild.ts is started by chaos/stack.ts, with an IPC channel');
const config = JSON.parse(process.argv[2] ?? '{}') as StackChildConfig;
const stack = await startLocalStack({
  persistDir: config.persistDir,
  port: config.apiPort,
  emulatorPorts: config.emulatorPorts,
  endpoints: config.endpoints,
  pollWaitSeconds: config.pollWaitSeconds,
  log: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
});
const pids = (): StackPids => ({
  stack: process.pid,
  supervisor: stack.emulators.supervisorPid,
  java: stack.emulators.javaPid,
});
process.on('message', (message) => {
  if (message === 'pids') process.send?.({ pids: pids() });
});
process.on('disconnect', () => {
  void stack.stop().then(() => process.exit(0));
});
const ready: StackChildReady = { apiUrl: stack.apiUrl, env: stack.env, tokens: stack.tokens, pids: pids() };
process.send({ ready });
