// The bad-input battery's shared moves: a case table's shape, raw and oversized bodies, and the check of one answer.
import assert from 'node:assert/strict';
import type { Answer } from '../support/api.ts';
import { commandsFixture, harness } from '../commands/helpers.ts';
import type { Harness, TestWorker } from '../commands/helpers.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';

/** Who calls: a role's token of the stack, a worker's own token, another worker's, a made-up one, or none at all. */
export type Caller = 'client' | 'admin' | 'worker' | 'otherWorker' | 'unknown' | 'none';

/** A body as sent: a value JSON.stringify writes, or text as it is (malformed JSON, `__proto__` keys). */
export type Body = { json: unknown } | { text: string | Buffer; headers?: Record<string, string> };

/** One bad request and what it must get: its status and docs/errors.md code (undefined: API Gateway's own answer). */
export interface HttpCase<F> {
  name: string;
  /** The request, made from the fixture of the case (a fresh worker, a claimed command, ...). */
  request: (fixture: F) => { as: Caller; method?: string; path?: string; body?: Body };
  status: number;
  code?: string;
  /** Set when the case found a bug: node:test reports it as todo, and the report lists it. */
  todo?: string;
}

/** `{"a":` and friends: text that is no JSON. */
export const MALFORMED: Body = { text: '{"worker": ', headers: { 'content-type': 'application/json' } };

/** JSON text as it is, for keys JSON.stringify cannot write as own keys (`__proto__`). */
export function rawJson(text: string): Body {
  return { text, headers: { 'content-type': 'application/json' } };
}

/** A string of `bytes` ASCII characters. */
export function long(bytes: number, fill = 'x'): string {
  return fill.repeat(bytes);
}

/** The token a caller sends (undefined: no authorization header at all). */
export function tokenOf(
  as: Caller,
  tokens: { admin: string; client: string },
  worker?: { token: string },
  other?: { token: string },
): string | undefined {
  switch (as) {
    case 'client':
      return tokens.client;
    case 'admin':
      return tokens.admin;
    case 'worker':
      return worker!.token;
    case 'otherWorker':
      return other!.token;
    case 'unknown':
      return 'bbs_client_0000000000000000not-a-token';
    case 'none':
      return undefined;
  }
}

/** Asserts the status and the code (API Gateway's own answers carry `{message}` and no code), and never a 500. */
export function assertRefused(
  answer: Answer,
  expected: { status: number; code?: string },
  what: string,
): void {
  assert.notEqual(answer.status, 500, `${what}: a 500: ${answer.text.slice(0, 300)}`);
  assert.equal(answer.status, expected.status, `${what}: ${answer.status} ${answer.text.slice(0, 300)}`);
  if (expected.code === undefined) assert.equal(answer.body.code, undefined, `${what}: ${answer.text}`);
  else assert.equal(answer.body.code, expected.code, `${what}: ${answer.text.slice(0, 300)}`);
}

/** The arguments of apiCaller's call for a Body. */
export function sendArgs(
  body: Body | undefined,
): [unknown, { body: string | Buffer; headers?: Record<string, string> }?] {
  if (body === undefined) return [undefined];
  if ('json' in body) return [body.json];
  return [undefined, { body: body.text, headers: body.headers }];
}

/**
 * A battery file's shared stack, harness and a second online worker (whose token a case may borrow), set up
 * before the file's tests and released after them.
 */
export function batteryStack(): {
  readonly stack: TestStack;
  readonly h: Harness;
  readonly other: TestWorker;
} {
  let other: TestWorker | undefined;
  // One before hook: the other worker is made right after the stack it lives on.
  const t = commandsFixture(async () => {
    const stack = await useStack();
    other = await harness(stack).onlineWorker();
    return stack;
  });
  return {
    get stack() {
      return t.stack;
    },
    get h() {
      return t.h;
    },
    get other() {
      if (!other) throw new Error('the other worker is read before its before hook ran');
      return other;
    },
  };
}
