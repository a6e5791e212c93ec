// The process that holds npm test's shared local stack: it sends the address over IPC and stops when stdin closes.
import { startLocalStack } from '../../local/index.ts';
import { SHARED_STACK_OPTIONS, stackAddress } from './stack.ts';

/**
 * Started by scripts/test.ts with stdout and stderr going to a log file, so that the handlers' logs and the stack's
 * own lines stay out of the test report. Its stdin is a pipe from the runner: when it closes (the run is over, or
 * the runner died), the stack stops and this process ends, leaving no emulator behind.
 */
if (!process.send) throw new Error('stackHost.ts is started by scripts/test.ts, with an IPC channel');

const stack = await startLocalStack({
  ...SHARED_STACK_OPTIONS,
  log: (line) => console.error(`${new Date().toISOString()} ${line}`),
});
process.stdin.on('end', () => {
  void stack.stop().then(() => process.exit(0));
});
process.stdin.resume();
process.send(stackAddress(stack), () => process.disconnect());
