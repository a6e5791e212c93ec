// Owns the example completion consumer: each worker's last result, kept monotonic with the state connector.
import type { StateConnector } from '../state/StateConnector.ts';
import { parseMessage } from '../schema.ts';
import { SERVICE_STATE_PREFIX } from '../state/wire.ts';
import { completionEvent } from './messages.ts';
import type { CompletionEvent } from './wire.ts';

/**
 * The example completion consumer: each worker's last result, kept with the state connector under the
 * object (workerName, 'WorkerLastResult'), state name 'bbs:lastResult'. The name is one the HTTP state API
 * refuses to write (SERVICE_STATE_PREFIX): a client that could write it could pin a worker's last result
 * with a forged `completedAt` far ahead, or forge the result itself. Clients read it with GET.
 */
export const LAST_RESULT = {
  className: 'WorkerLastResult',
  stateName: `${SERVICE_STATE_PREFIX}lastResult`,
} as const;

/** The event in a completions-queue message, or undefined (not JSON, or not an event): the caller logs and drops it. */
export function parseCompletionEvent(body: string): CompletionEvent | undefined {
  return parseMessage(completionEvent, body);
}

/**
 * Events arrive at least once and in any order: a later one is the one with the later completedAt, and
 * between two commands ending in the same millisecond the larger commandId, so that any delivery order
 * leaves the same event stored. A duplicate of the stored event is not later and writes nothing.
 */
export function isLaterEvent(event: CompletionEvent, stored: CompletionEvent | undefined): boolean {
  if (!stored) return true;
  if (event.completedAt !== stored.completedAt) return event.completedAt > stored.completedAt;
  return event.commandId > stored.commandId;
}

/**
 * Records `event` unless a later one is stored already; true when it stored it. updateState's
 * compare-and-set makes this monotonic across concurrent consumers: one that decided on a value another
 * has replaced meanwhile decides again on the newer value, so an older event never overwrites a later one.
 */
export async function recordLastResult(state: StateConnector, event: CompletionEvent): Promise<boolean> {
  const objectId = await state.getObjectId(event.worker, LAST_RESULT.className);
  const { updated } = await state.updateState(objectId, LAST_RESULT.stateName, (stored) =>
    isLaterEvent(event, stored as CompletionEvent | undefined) ? event : undefined,
  );
  return updated;
}

/**
 * The writes of one batch, one per worker: only each worker's latest event of the batch can end up stored
 * (recording the others first would be overwritten or refused by the monotonic rule), so the rest are
 * decided without a write. The function returned starts a worker's write on the first call for one of its
 * events and answers every later one with the same promise: when that write fails, each record of the
 * worker fails with it (so that SQS redelivers them all), and `onError` hears of it once.
 */
export function lastResultBatch(
  state: StateConnector,
  events: CompletionEvent[],
  onError: (worker: string, error: unknown) => void,
): (event: CompletionEvent) => Promise<boolean> {
  const latest = new Map<string, CompletionEvent>();
  for (const event of events)
    if (isLaterEvent(event, latest.get(event.worker))) latest.set(event.worker, event);
  const writes = new Map<string, Promise<boolean>>();
  return function writeFor(event) {
    let write = writes.get(event.worker);
    if (!write) {
      write = recordLastResult(state, latest.get(event.worker) ?? event).catch((error: unknown) => {
        onError(event.worker, error);
        throw error;
      });
      writes.set(event.worker, write);
    }
    return write;
  };
}

/** One message of a batch: its id (for batchItemFailures) and the event it carries. */
export interface CompletionRecord {
  messageId: string;
  event: CompletionEvent;
}

/**
 * Records a batch with lastResultBatch, outside Lambda's batch processing (functions/lastResult.ts uses
 * Powertools' for that). Returns the message ids of the workers whose write failed; the others succeeded.
 */
export async function recordLastResults(
  state: StateConnector,
  records: CompletionRecord[],
  onError: (worker: string, error: unknown) => void,
): Promise<string[]> {
  const writeFor = lastResultBatch(
    state,
    records.map(({ event }) => event),
    onError,
  );
  const outcomes = await Promise.allSettled(records.map(({ event }) => writeFor(event)));
  return records.filter((_, i) => outcomes[i]!.status === 'rejected').map(({ messageId }) => messageId);
}
