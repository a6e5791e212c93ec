// Owns the live log of one command: stdout, stderr and headers told apart, ANSI colours, following the end.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, call } from '../api.ts';
import { cssOf, parseAnsi } from '../ansi.ts';
import type { AnsiRun, AnsiStyle } from '../ansi.ts';
import { Problem } from '../components.tsx';
import { Backoff } from '../../../shared/retry.ts';
import { pushWait } from '../live.ts';
import { usePush } from '../push.ts';
import type { Pushed } from '../push.ts';
import type { UpdatesPage } from '../../../shared/commands/apiTypes.ts';
import type { CommandUpdate } from '../../../shared/commands/wire.ts';

type Stream = 'stdout' | 'stderr' | 'header';

interface Chunk {
  seq: number;
  stream: Stream;
  runs: AnsiRun[];
}

/**
 * The log is capped in the page: beyond this many chunks the oldest are dropped (bbs logs ID reads it all).
 * @default 5000
 */
const MAX_CHUNKS = 5000;

/** Reads a command's updates in order (GET .../updates?after=), each once, until the command is complete. */
function useUpdates(
  commandId: string,
  push: Pushed,
): {
  chunks: Chunk[];
  done: boolean;
  problem?: ApiProblem;
  dropped: number;
} {
  const [state, setState] = useState<{
    chunks: Chunk[];
    done: boolean;
    problem?: ApiProblem;
    dropped: number;
  }>({ chunks: [], done: false, dropped: 0 });
  useEffect(() => {
    const abort = new AbortController();
    const backoff = new Backoff({ minMs: 50, maxMs: 500 });
    const wait = pushWait(push, backoff, abort.signal);
    const styles: Record<Stream, AnsiStyle> = { stdout: {}, stderr: {}, header: {} };
    let after = -1;
    setState({ chunks: [], done: false, dropped: 0 });
    const take = (updates: [CommandUpdate, number][]): Chunk[] => {
      const chunks: Chunk[] = [];
      for (const [update, seq] of updates) {
        if (seq <= after) continue; // a repeat (push and poll both deliver): keep each seq once
        after = seq;
        for (const stream of ['header', 'stdout', 'stderr'] as const) {
          const text = update[stream];
          if (typeof text !== 'string' || text === '') continue;
          const parsed = parseAnsi(text, styles[stream]);
          styles[stream] = parsed.style;
          chunks.push({ seq, stream, runs: parsed.runs });
        }
      }
      return chunks;
    };
    (async () => {
      while (!abort.signal.aborted) {
        let page: UpdatesPage;
        wait.reading();
        try {
          page = await call<UpdatesPage>('GET', `/v1/commands/${encodeURIComponent(commandId)}/updates`, {
            query: { after },
            signal: abort.signal,
          });
        } catch (error) {
          if (abort.signal.aborted) return;
          if (!(error instanceof ApiProblem)) throw error;
          setState((s) => ({ ...s, problem: error }));
          await wait.pause();
          continue;
        }
        const fresh = take(page.updates);
        const done = page.status === 'complete' && page.next === undefined && after >= page.acked;
        setState((s) => {
          const all = fresh.length ? [...s.chunks, ...fresh] : s.chunks;
          const over = Math.max(0, all.length - MAX_CHUNKS);
          return { chunks: over ? all.slice(over) : all, done, dropped: s.dropped + over };
        });
        if (done) return;
        if (page.next !== undefined) continue;
        if (fresh.length) backoff.reset();
        await wait.pause();
      }
    })().catch((error: unknown) => {
      setState((s) => ({ ...s, problem: new ApiProblem('refused', String(error)) }));
    });
    return () => {
      abort.abort();
      wait.close();
    };
  }, [commandId]);
  return state;
}

export function LogView({ commandId }: { commandId: string }) {
  const push = usePush([{ commandId }]);
  const { chunks, done, problem, dropped } = useUpdates(commandId, push);
  const box = useRef<HTMLPreElement>(null);
  /** Follows the end while the reader is at the end; scrolling up stops that until they scroll back down. */
  const [following, setFollowing] = useState(true);
  useLayoutEffect(() => {
    const element = box.current;
    if (element && following) element.scrollTop = element.scrollHeight;
  }, [chunks, following]);
  return (
    <section aria-labelledby="log-title">
      <h2 id="log-title">
        Log <span class="muted">{done ? '(complete)' : '(live)'}</span>
      </h2>
      <p class="legend" aria-hidden="true">
        <span class="log-stdout">stdout</span> <span class="log-stderr">stderr</span>{' '}
        <span class="log-header">header</span>
        {!following && (
          <button type="button" onClick={() => setFollowing(true)}>
            Follow the end
          </button>
        )}
      </p>
      <Problem problem={problem} />
      {dropped > 0 && (
        <p class="muted">
          {dropped} earlier chunks are not shown (bbs logs {commandId} has them all).
        </p>
      )}
      <pre
        class="log"
        ref={box}
        tabIndex={0}
        aria-label="command log"
        onScroll={(event) => {
          const element = event.currentTarget;
          setFollowing(element.scrollTop + element.clientHeight >= element.scrollHeight - 8);
        }}
      >
        {chunks.map((chunk) => (
          <span class={`log-${chunk.stream}`} data-seq={chunk.seq}>
            {chunk.runs.map((run) =>
              Object.keys(run.style).length ? <span style={cssOf(run.style)}>{run.text}</span> : run.text,
            )}
          </span>
        ))}
      </pre>
    </section>
  );
}
