// The local stack's errors: in-process only (the gateway answers as API Gateway does), each with a stable code.
import { BuildbotError } from '../shared/errors.ts';

/** The local stack could not start or was used wrongly; `details` carry what was seen. */
export class LocalStackError extends BuildbotError {
  static override readonly code = 'local_stack_failed';
  static override readonly httpStatus = undefined;
}

/** serverless.yml (or a file it includes) cannot be resolved: an unknown variable, tag or reference. */
export class ServerlessConfigError extends BuildbotError {
  static override readonly code = 'serverless_config_invalid';
  static override readonly httpStatus = undefined;
}

/** The emulator supervisor failed: Java missing, DynamoDB Local or fauxqs not answering, or an early exit. */
export class EmulatorError extends BuildbotError {
  static override readonly code = 'emulator_failed';
  static override readonly httpStatus = undefined;
}

/** A handler string in serverless.yml points at a module or export that does not exist. */
export class HandlerLoadError extends BuildbotError {
  static override readonly code = 'handler_not_found';
  static override readonly httpStatus = undefined;
}

/** A function ran past its `timeout` (Lambda's "Task timed out"); the gateway answers 500, a poller deletes nothing. */
export class FunctionTimeoutError extends BuildbotError {
  static override readonly code = 'function_timeout';
  static override readonly httpStatus = undefined;

  constructor(functionName: string, timeoutSeconds: number) {
    super(`Task timed out after ${timeoutSeconds.toFixed(2)} seconds (function ${functionName})`, {
      details: { function: functionName, timeoutSeconds },
    });
  }
}

/** A request body over API Gateway's 10 MB; the gateway answers 413 `{message}` as API Gateway does. */
export class GatewayBodyTooLargeError extends BuildbotError {
  static override readonly code = 'gateway_body_too_large';
  static override readonly httpStatus = undefined;
}

/** An authorizer returned neither a simple response nor an IAM policy; the gateway answers 500 `{message}`. */
export class AuthorizerResponseError extends BuildbotError {
  static override readonly code = 'authorizer_response_malformed';
  static override readonly httpStatus = undefined;
}
