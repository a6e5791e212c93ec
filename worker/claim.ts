// POST /v1/commands/{id}/start: the worker's claim of a command it received, retried a few times.
import { randomBytes } from 'node:crypto';
import { ApiError } from '../shared/client/errors.ts';
import { apiRequest } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import type { ClaimRequest, ClaimResponse } from '../shared/commands/wire.ts';
import { retry } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import type { WorkerLogSink } from './log.ts';

/**
 * Five tries, 400, 800, 1600 and 3200 ms apart (6 s in all), then the message is left for SQS to
 * deliver again. Every failure but a refusal is tried again, a 4xx included.
 */
export const CLAIM_RETRY: RetryPolicy = Object.freeze({ minMs: 400, maxMs: 3_200, attempts: 5 });

/** A claim's name: 128 random bits, base64url. */
export function newClaimToken(): string {
  return randomBytes(16).toString('base64url');
}

/** 409 (a duplicate delivery, a cancelled or finished command), 403 or 404: the command must never run here. */
function isRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && [403, 404, 409].includes(error.status);
}

/**
 * The claim, or 'drop' (refused: delete the message and never run it), or 'retry' (the claim kept failing:
 * leave the message, so it comes back after its visibility timeout).
 *
 * Every try carries the same `claimToken`. A claim that landed but whose answer was lost (the network, a
 * timeout) is then answered again by the retry instead of 409: the command runs once, rather than never (and
 * then ends as worker_lost). Another claim of the same command (a duplicate delivery) has another token and gets 409.
 */
export async function claimCommand(
  connection: ApiConnection,
  commandId: string,
  log: WorkerLogSink,
  claimToken: string = newClaimToken(),
): Promise<ClaimResponse | 'drop' | 'retry'> {
  const body: ClaimRequest = { claimToken };
  try {
    return await retry(
      () =>
        apiRequest<ClaimResponse>(connection, 'POST', `/v1/commands/${encodeURIComponent(commandId)}/start`, {
          body,
        }),
      { policy: CLAIM_RETRY, isRetryable: (error) => !isRefusal(error) },
    );
  } catch (error) {
    if (isRefusal(error)) {
      log(
        error.status === 409
          ? `command ${commandId}: not running it (${error.message})`
          : `command ${commandId}: claim refused, deleting the message (${error.message})`,
      );
      return 'drop';
    }
    log(
      `command ${commandId}: claim failed ${CLAIM_RETRY.attempts} times (${(error as Error).message}); leaving the message for redelivery`,
    );
    return 'retry';
  }
}
