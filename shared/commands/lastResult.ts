import type { StateConnector } from '../state/StateConnector.ts';
import type { CompletionEvent } from './wire.ts';

/**
 * The example completion consumer: each worker's last result, kept with the state connector under the
 * object (workerName, 'WorkerLastResult'), state name 'lastResult'.
 */
export const LAST_RESULT = { className: 'WorkerLastResult', stateName: 'lastResult' } as const;

export function parseCompletionEvent(body: string): CompletionEvent | undefined {
  try {
    const event = JSON.parse(body) as Partial<CompletionEvent> | null;
    if (
      event &&
      typeof event.commandId === 'string' &&
      typeof event.worker === 'string' &&
      typeof event.completedAt === 'string'
    )
      return event as CompletionEvent;
  } catch {
    // not JSON: the caller logs and drops it
  }
  return undefined;
}

/**
 * Records `event` unless a later one is stored already. Events arrive at least once and in any order;
 * the read-then-set leaves a window in which two consumers racing on the same worker can store the older
 * event, which the next completion of that worker repairs (the state connector has no compare-and-set).
 */
export async function recordLastResult(state: StateConnector, event: CompletionEvent): Promise<boolean> {
  const objectId = await state.getObjectId(event.worker, LAST_RESULT.className);
  const current = (await state.getState(objectId, LAST_RESULT.stateName, null)) as CompletionEvent | null;
  if (current && current.completedAt > event.completedAt) return false;
  await state.setState(objectId, LAST_RESULT.stateName, event);
  return true;
}
