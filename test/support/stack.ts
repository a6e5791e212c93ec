// The local stack a test file runs against: the one scripts/test.ts shares with every file, or one of its own.
import { startLocalStack } from '../../local/index.ts';
import type { LocalStack, LocalStackOptions } from '../../local/index.ts';

/**
 * `npm test` (scripts/test.ts) starts one local stack and hands its address to the test processes through this
 * variable, as the JSON of a StackAddress. Without it (a file run alone with `node --import tsx --test FILE`),
 * useStack() starts a stack of the file's own with the same options, so a file behaves the same either way.
 */
export const SHARED_STACK_VARIABLE = 'BBS_TEST_STACK';

/**
 * The options of the shared stack. Pollers wait 1 s rather than 20, so that stop() is quick and a consumer sees a
 * message within a second. A file that needs other options (a fixture service, no watchdog) starts its own stack.
 */
export const SHARED_STACK_OPTIONS = { pollWaitSeconds: 1 } as const satisfies LocalStackOptions;

/** What a process needs to reach a stack that may run in another process. */
export type StackAddress = Pick<LocalStack, 'apiUrl' | 'env' | 'tokens' | 'queueUrls'>;

export interface TestStack extends StackAddress {
  /** True for the stack that scripts/test.ts shares: other test files use it at the same time. */
  shared: boolean;
  /** Stops the stack when this file started it; leaves the shared one running for the other files. */
  release(): Promise<void>;
}

/** The address of a running stack, as it goes into SHARED_STACK_VARIABLE. */
export function stackAddress(stack: StackAddress): string {
  const { apiUrl, env, tokens, queueUrls } = stack;
  return JSON.stringify({ apiUrl, env, tokens, queueUrls } satisfies StackAddress);
}

/**
 * The test process's SDK clients (shared/aws/clients.ts) and every fromEnv() read the stack's endpoints and names
 * from process.env, as a Lambda reads its own: a test process is one of the stack's callers.
 */
function enterStackEnv(stack: StackAddress): void {
  Object.assign(process.env, stack.env);
}

function sharedAddress(): StackAddress | undefined {
  const text = process.env[SHARED_STACK_VARIABLE];
  if (!text) return undefined;
  const address = JSON.parse(text) as StackAddress;
  if (typeof address.apiUrl !== 'string' || typeof address.env !== 'object')
    throw new Error(`${SHARED_STACK_VARIABLE} holds no stack address: ${text.slice(0, 200)}`);
  return address;
}

/**
 * The shared stack when scripts/test.ts started one, else a stack of this file's own. The shared stack's handlers,
 * pollers and watchdog run in the runner's process: a test on it sees only its own process's request tallies and
 * caches, and shares the tables with the other files, so it names its workers and objects with uniqueName().
 */
export async function useStack(): Promise<TestStack> {
  const shared = sharedAddress();
  if (!shared) return ownStack();
  enterStackEnv(shared);
  return { ...shared, shared: true, release: () => Promise.resolve() };
}

/** A stack of this file's own, whatever runs it: for tests that count the handlers' requests or need other options. */
export async function ownStack(options: LocalStackOptions = {}): Promise<TestStack> {
  const stack = await startLocalStack({ ...SHARED_STACK_OPTIONS, ...options });
  enterStackEnv(stack);
  return {
    apiUrl: stack.apiUrl,
    env: stack.env,
    tokens: stack.tokens,
    queueUrls: stack.queueUrls,
    shared: false,
    release: () => stack.stop(),
  };
}
