// Runs serverless.yml's functions in-process: lazy handler import, Lambda context, timeout, invocation tally.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { runWithEnv } from '../shared/env.ts';
import type { Env } from '../shared/env.ts';
import { LOCAL_ACCOUNT_ID } from './serverless/intrinsics.ts';
import type { FunctionDef } from './serverless/service.ts';
import { FunctionTimeoutError, HandlerLoadError } from './errors.ts';

/**
 * Runs serverless.yml's functions in this process. Modules are imported on first invocation (not at start), so a
 * function whose file does not exist yet fails only its own routes. Invocations are counted, per runner (one per
 * stack), for the benchmarks.
 */

export type LambdaHandler = (event: unknown, context: Context) => unknown;

export interface FunctionTally {
  /** Handler invocations (HTTP routes, authorizer calls, SQS batches, schedule ticks). */
  invocations: number;
  /** HTTP requests routed to this function (authorizer calls excluded). */
  httpRequests: number;
  /** Invocations that threw (or whose module failed to load). */
  errors: number;
  /** Wall time spent in the handler, summed, in ms (module loading excluded): the GB-seconds of the bill. */
  durationMs: number;
}

const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

export interface FunctionRunnerOptions {
  serviceDir: string;
  stackName: string;
  region: string;
  functions: Record<string, FunctionDef>;
  /**
   * The environment the functions see (shared/config.ts currentEnv(), as a Lambda sees its own): each
   * invocation runs inside runWithEnv(env), so two stacks' functions in one process read each their own.
   * @default undefined (the caller's: process.env)
   */
  env?: Env;
}

export class FunctionRunner {
  private readonly modules = new Map<string, Promise<LambdaHandler>>();
  private readonly tally = new Map<string, FunctionTally>();

  constructor(private readonly opts: FunctionRunnerOptions) {}

  /** Per-function counts of this runner's invocations since it was made (or last reset). */
  invocationTally(): Record<string, FunctionTally> {
    return Object.fromEntries([...this.tally].map(([name, counts]) => [name, { ...counts }]));
  }

  resetInvocationTally(): void {
    this.tally.clear();
  }

  /** The live counts of function `name`: the gateway adds its HTTP requests to them. */
  countFor(name: string): FunctionTally {
    let counts = this.tally.get(name);
    if (!counts) {
      counts = { invocations: 0, httpRequests: 0, errors: 0, durationMs: 0 };
      this.tally.set(name, counts);
    }
    return counts;
  }

  private load(fn: FunctionDef): Promise<LambdaHandler> {
    let loaded = this.modules.get(fn.name);
    if (!loaded) {
      loaded = this.importHandler(fn);
      this.modules.set(fn.name, loaded);
      // A failed import is retried on the next call (the file may be written meanwhile).
      loaded.catch(() => this.modules.delete(fn.name));
    }
    return loaded;
  }

  private async importHandler(fn: FunctionDef): Promise<LambdaHandler> {
    const dot = fn.handler.lastIndexOf('.');
    const modulePath = fn.handler.slice(0, dot);
    const exportName = fn.handler.slice(dot + 1);
    const base = join(this.opts.serviceDir, modulePath);
    const file = MODULE_EXTENSIONS.map((ext) => base + ext).find((candidate) => existsSync(candidate));
    if (!file)
      throw new HandlerLoadError(
        `function ${fn.name}: no module for handler ${fn.handler} (looked for ${base}.ts/.js)`,
        {
          details: { function: fn.name, handler: fn.handler },
        },
      );
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const handler = module[exportName];
    if (typeof handler !== 'function')
      throw new HandlerLoadError(`function ${fn.name}: ${file} has no exported function ${exportName}`, {
        details: { function: fn.name, handler: fn.handler },
      });
    return handler as LambdaHandler;
  }

  private context(fn: FunctionDef): Context {
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const functionName = `${this.opts.stackName}-${fn.name}`;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.opts.region}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
      memoryLimitInMB: '256',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  /** Invokes function `name` with `event`; counts it; rethrows what the handler (or its import) throws. */
  async invoke(name: string, event: unknown): Promise<unknown> {
    const fn = this.opts.functions[name];
    if (!fn)
      throw new HandlerLoadError(`no function ${name} in serverless.yml`, { details: { function: name } });
    const counts = this.countFor(name);
    counts.invocations++;
    const env = this.opts.env;
    if (env !== undefined) return runWithEnv(env, () => this.run(fn, counts, event));
    return this.run(fn, counts, event);
  }

  private async run(fn: FunctionDef, counts: FunctionTally, event: unknown): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const handler = await this.load(fn);
      // Lambda stops a function at its timeout; here the promise cannot be stopped, only no longer waited for.
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new FunctionTimeoutError(fn.name, fn.timeoutSeconds)),
          fn.timeoutSeconds * 1000,
        );
      });
      const started = performance.now();
      try {
        return await Promise.race([handler(event, this.context(fn)), timedOut]);
      } finally {
        counts.durationMs += performance.now() - started;
      }
    } catch (error) {
      counts.errors++;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
