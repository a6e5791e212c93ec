// Owns live data for the pages: polling with the client's backoff (50 → 500 ms), woken early by push when it is open.
import { useEffect, useRef, useState } from 'preact/hooks';
import { Backoff } from '../../shared/retry.ts';
import { ApiProblem } from './api.ts';
import { PUSHED_POLL_MS } from './push.ts';
import type { Pushed } from './push.ts';

/** The shortest time between two reads of one view, however often push wakes it. @default 100 ms */
const MIN_GAP_MS = 100;

export interface Polled<T> {
  data?: T;
  problem?: ApiProblem;
}

/**
 * Calls `load` again and again while the component is shown: quickly while the answer changes, backing off
 * to `maxMs` while it does not (shared/retry.ts's Backoff, as the TypeScript client's followers do), and on
 * through errors, so the page recovers by itself when the API comes back. With `push` connected, a frame polls
 * at once and the rhythm slows to PUSHED_POLL_MS (push.ts); when it drops, the quick rhythm comes back.
 */
export function usePolled<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  opts: { maxMs?: number; push?: Pushed; stopWhen?: (data: T) => boolean } = {},
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
    let woken = false;
    const onWake = () => {
      woken = true;
      wakeNow?.();
    };
    opts.push?.wake.addEventListener('wake', onWake);
    setState({});
    (async () => {
      while (!abort.signal.aborted) {
        let stop = false;
        woken = false;
        const startedAt = Date.now();
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
        // A frame that came while reading wakes the next read at once.
        if (!woken)
          await new Promise<void>((resolve) => {
            wakeNow = resolve;
            timer = setTimeout(resolve, opts.push?.connected() ? PUSHED_POLL_MS : backoff.next());
          });
        wakeNow = undefined;
        clearTimeout(timer);
        // Frames may come in bursts (every command's status on the Commands page): a woken view reads at most once
        // per MIN_GAP_MS; its own 50 ms polling rhythm is left as it is.
        const gap = woken ? MIN_GAP_MS - (Date.now() - startedAt) : 0;
        if (gap > 0 && !abort.signal.aborted) await new Promise((resolve) => setTimeout(resolve, gap));
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
      opts.push?.wake.removeEventListener('wake', onWake);
    };
  }, deps);
  return state;
}
