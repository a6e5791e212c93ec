// A test file's stack as a fixture: the before and after hooks every stack-backed test file would otherwise repeat.
import { after, before } from 'node:test';
import type { TestStack } from './stack.ts';

/** A test file's stack, read after its before hook has run. */
export interface StackFixture {
  readonly stack: TestStack;
}

/**
 * Registers the file's before hook (start the stack with `start`: useStack, or ownStack for a file that needs its
 * own) and its after hook (`beforeRelease`, then release the stack), and returns a holder whose `stack` throws
 * when read before the before hook ran (at module level, say) rather than handing out undefined.
 */
export function stackFixture(
  start: () => Promise<TestStack>,
  options: { beforeRelease?: () => Promise<void> } = {},
): StackFixture {
  let stack: TestStack | undefined;
  before(async () => {
    stack = await start();
  });
  after(async () => {
    await options.beforeRelease?.();
    await stack?.release();
  });
  return {
    get stack() {
      if (!stack)
        throw new Error('the test stack is read before its before hook ran: read it inside a test or hook');
      return stack;
    },
  };
}
