// Owns live data for the pages: polling with the client's backoff (50 → 500 ms), woken early by push when it is open.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Backoff } from '../../shared/retry.ts';
import { ApiProblem } from './api.ts';

export interface Polled<T> {
  data?: T;
  problem?: ApiProblem;
}

/**
 * Calls `load` again and again while the component is shown: quickly while the answer changes, backing off
 * to `maxMs` while it does not (shared/retry.ts's Backoff, as the TypeScript client's followers do), and on
 * through errors, so the page recovers by itself when the API comes back. `wake` (a push frame) polls at once.
 */
export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  opts: { maxMs?: number; wake?: EventTarget; stopWhen?: (data: T) => boolean } = {},
): Polled<T> {
  const [state, setState] = useState<Polled<T>>({});
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const abort = new AbortController();
    const backoff = new Backoff({ minMs: 50, maxMs: opts.maxMs ?? 500 });
    let last = '';
    let timer: ReturnType<typeof setTimeout> | undefined;
    let wakeNow: (() => void) | undefined;
    const onWake = () => wakeNow?.();
    opts.wake?.addEventListener('wake', onWake);
    setState({});
    (async () => {
      while (!abort.signal.aborted) {
        let stop = false;
        try {
          const data = await loadRef.current(abort.signal);
          const text = JSON.stringify(data);
          if (text !== last) {
            last = text;
            backoff.reset();
            setState({ data });
          } else setState((s) => (s.problem ? { data } : s));
          stop = opts.stopWhen?.(data) ?? false;
        } catch (error) {
          if (abort.signal.aborted) return;
          if (!(error instanceof ApiProblem)) throw error;
          setState((s) => ({ ...s, problem: error }));
        }
        if (stop) return;
        await new Promise<void>((resolve) => {
          wakeNow = resolve;
          timer = setTimeout(resolve, backoff.next());
        });
        clearTimeout(timer);
      }
    })().catch((error: unknown) => {
      setState({
        problem: new ApiProblem('refused', error instanceof Error ? error.message : String(error)),
      });
    });
    return () => {
      abort.abort();
      clearTimeout(timer);
      wakeNow?.();
      opts.wake?.removeEventListener('wake', onWake);
    };
  }, deps);
  return state;
}
