import { BuildbotError } from '../shared/errors.ts';

/** The local stack could not start or was used wrongly; `details` carry what was seen. */
export class LocalStackError extends BuildbotError {}

/** serverless.yml (or a file it includes) cannot be resolved: an unknown variable, tag or reference. */
export class ServerlessConfigError extends BuildbotError {}

/** The emulator supervisor failed: Java missing, DynamoDB Local or fauxqs not answering, or an early exit. */
export class EmulatorError extends BuildbotError {}

/** A handler string in serverless.yml points at a module or export that does not exist. */
export class HandlerLoadError extends BuildbotError {}

/** A function ran past its `timeout` (Lambda's "Task timed out"); the gateway answers 500, a poller deletes nothing. */
export class FunctionTimeoutError extends BuildbotError {
  constructor(functionName: string, timeoutSeconds: number) {
    super(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds (function ${functionName})`, {
      details: { function: functionName, timeoutSeconds },
    });
  }
}
