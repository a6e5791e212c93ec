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

/** The wait between two reads of one view, woken early by push: usePolled's and the log's (pages/Log.tsx). */
export interface PushWait {
  /** Call as a read begins: a frame from then on wakes the next pause at once. */
  reading(): void;
  /**
   * Waits before the next read: PUSHED_POLL_MS while push is connected, else the backoff's next step, or not at
   * all when a frame came during the read. A woken read comes at least MIN_GAP_MS after the one before.
   */
  pause(): Promise<void>;
  /** Wakes a pending pause and stops listening (the view is gone; its loop sees its aborted signal). */
  close(): void;
}

export function pushWait(push: Pushed | undefined, backoff: Backoff, signal: AbortSignal): PushWait {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wakeNow: (() => void) | undefined;
  /** A frame came since the last read began: read again without waiting. */
  let woken = false;
  let startedAt = 0;
  const onWake = () => {
    woken = true;
    wakeNow?.();
  };
  push?.wake.addEventListener('wake', onWake);
  return {
    reading() {
      woken = false;
      startedAt = Date.now();
    },
    async pause() {
      if (!woken)
        await new Promise<void>((resolve) => {
          wakeNow = resolve;
          timer = setTimeout(resolve, push?.connected() ? PUSHED_POLL_MS : backoff.next());
        });
      wakeNow = undefined;
      clearTimeout(timer);
      // Frames may come in bursts (every command's status on the Commands page, a log's every ack): a woken
      // view reads at most once per MIN_GAP_MS; its own 50 ms polling rhythm is left as it is.
      const gap = woken ? MIN_GAP_MS - (Date.now() - startedAt) : 0;
      if (gap > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, gap));
    },
    close() {
      clearTimeout(timer);
      wakeNow?.();
      push?.wake.removeEventListener('wake', onWake);
    },
  };
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
    const wait = pushWait(opts.push, backoff, abort.signal);
    let last = '';
    setState({});
    (async () => {
      while (!abort.signal.aborted) {
        let stop = false;
        wait.reading();
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
        await wait.pause();
      }
    })().catch((error: unknown) => {
      setState({
        problem: new ApiProblem('refused', error instanceof Error ? error.message : String(error)),
      });
    });
    return () => {
      abort.abort();
      wait.close();
    };
  }, deps);
  return state;
}
