// POST /v1/commands/{id}/complete: lastSeq, the failure, and the updates not acked yet, resent until it lands.
import { ApiError } from '../shared/client/errors.ts';
import { apiRequest } from '../shared/client/http.ts';
import type { ApiConnection } from '../shared/client/http.ts';
import type { CompleteRequest } from '../shared/commands/wire.ts';
import * as LIMITS from '../shared/limits.ts';
import { Retries, sleep } from '../shared/retry.ts';
import type { RetryPolicy } from '../shared/retry.ts';
import { ackedOf, isTransient } from './answers.ts';
import type { UpdateBatcher } from './batcher.ts';
import { UpdateDeliveryError } from './errors.ts';
import type { WorkerLogSink } from './log.ts';

/**
 * Complete carries the last batch (bill and dispatch work: one request instead of two), unless it is over
 * LIMITS.completeCarriesBytes or one batch's count: then the sender flushes it as updates first.
 */
export function completeCanCarry(batcher: UpdateBatcher): boolean {
  return (
    batcher.unackedBytes <= LIMITS.completeCarriesBytes && batcher.unackedCount <= LIMITS.updatesPerBatch
  );
}

export interface CompleteOptions {
  connection: ApiConnection;
  commandId: string;
  batcher: UpdateBatcher;
  failure: CompleteRequest['failure'];
  /** Transient failures are retried under it; its clock starts with the first request. */
  policy: RetryPolicy;
  /** The sender's ack: returns its fatal error when the answer shows the server lost updates. */
  ack: (acked: number) => UpdateDeliveryError | undefined;
  log: WorkerLogSink;
}

/** The complete body: lastSeq, the failure, and the updates not acked yet (stored by the server first). */
function completeBody(batcher: UpdateBatcher, failure: CompleteRequest['failure']): CompleteRequest {
  const body: CompleteRequest = { lastSeq: batcher.lastSeq };
  if (batcher.unackedCount > 0) body.updates = batcher.sequenced();
  if (failure) body.failure = failure;
  return body;
}

/** Sends complete; rejects with UpdateDeliveryError when the server cannot take it or it kept failing. */
export async function sendComplete(opts: CompleteOptions): Promise<void> {
  const { batcher, commandId } = opts;
  let body = completeBody(batcher, opts.failure);
  const retries = new Retries(opts.policy);
  const startedAt = Date.now();
  for (;;) {
    try {
      await apiRequest(opts.connection, 'POST', `/v1/commands/${encodeURIComponent(commandId)}/complete`, {
        body,
      });
      return;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        const acked = ackedOf(error);
        // The server holds fewer updates than the carried ones start after: ack() says whether it lost any.
        if (acked !== undefined && acked < body.lastSeq && body.updates !== undefined) {
          const lost = opts.ack(acked);
          if (lost) throw lost;
          if (batcher.unackedCount < body.updates.length) {
            body = completeBody(batcher, opts.failure);
            continue;
          }
        }
        if (acked !== undefined && acked < body.lastSeq)
          throw new UpdateDeliveryError(
            commandId,
            `complete refused: the server holds updates up to ${acked} of ${body.lastSeq}, and they were acked before`,
            { cause: error },
          );
        // Already complete (repeated call, or the watchdog ended it while we were away): nothing to do.
        opts.log(`command ${commandId}: complete answered 409 (${error.message}); leaving it as it is`);
        return;
      }
      const waitMs = isTransient(error) ? retries.failed(startedAt) : undefined;
      if (waitMs === undefined)
        throw new UpdateDeliveryError(commandId, `complete failed: ${(error as Error).message}`, {
          cause: error,
        });
      await sleep(waitMs);
    }
  }
}
