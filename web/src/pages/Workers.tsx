// Owns the Workers page: each worker online or offline, last seen, its running commands and what it reported.
import { useState } from 'preact/hooks';
import { call } from '../api.ts';
import { Json, Problem, Time } from '../components.tsx';
import { usePolled } from '../live.ts';
import type { WorkerView } from '../../../shared/workers/types.ts';
import type { WorkerList, WorkerSummary } from '../types.ts';

/** Workers a page of GET /v1/workers holds here (its largest `limit`). @default 100 */
const PAGE_WORKERS = 100;
/** Pages the list follows at most, one more each "Show more": 1,000 workers (bbs workers lists the rest). @default 10 */
const MAX_PAGES = 10;

export function WorkersPage() {
  // The list is oldest registration first: "Show more" follows `next` one more page on every poll.
  const [pages, setPages] = useState(1);
  const { data, problem } = usePolled(
    async (signal) => {
      const workers: WorkerSummary[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < pages; page++) {
        const query = { limit: PAGE_WORKERS, cursor };
        const list = await call<WorkerList>('GET', '/v1/workers', { query, signal });
        workers.push(...list.workers);
        cursor = list.next;
        if (cursor === undefined) break;
      }
      return { workers, more: cursor !== undefined };
    },
    [pages],
    { maxMs: 2000 },
  );
  return (
    <section aria-labelledby="workers-title">
      <h1 id="workers-title">Workers</h1>
      <Problem problem={problem} />
      {data && data.workers.length === 0 && (
        <p class="muted">No worker is registered. An admin registers one: npx bbs worker register NAME</p>
      )}
      <ul class="workers">
        {data?.workers.map((worker) => (
          <li key={worker.name} data-worker={worker.name}>
            <h2>
              <span class={`badge badge-${worker.presence}`}>{worker.presence}</span> {worker.name}
            </h2>
            <dl class="facts">
              <dt>Last seen</dt>
              <dd>
                <Time iso={worker.lastSeenAt} />
              </dd>
              <dt>Running</dt>
              <dd>
                <a href={`#/commands?worker=${encodeURIComponent(worker.name)}&status=running`}>
                  {worker.running ?? 0} of {worker.concurrency ?? '?'}
                </a>
              </dd>
              <dt>Version</dt>
              <dd>{worker.version ?? '–'}</dd>
              <dt>Registered</dt>
              <dd>
                <Time iso={worker.createdAt} />
              </dd>
            </dl>
            <WorkerDetails name={worker.name} />
          </li>
        ))}
      </ul>
      {data?.more &&
        (pages < MAX_PAGES ? (
          <button type="button" class="more" onClick={() => setPages(pages + 1)}>
            Show {PAGE_WORKERS} more workers
          </button>
        ) : (
          <p class="muted">
            The first {PAGE_WORKERS * MAX_PAGES} workers are shown: npx bbs workers --cursor C lists the rest.
          </p>
        ))}
    </section>
  );
}

/**
 * A worker's registered commands and info: GET /v1/workers lists neither, so they are read from
 * GET /v1/workers/{name}, only while the reader has them open (one Lambda call a poll per open worker, not per worker).
 */
function WorkerDetails({ name }: { name: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details onToggle={(event) => setOpen((event.currentTarget as HTMLDetailsElement).open)}>
      <summary>Commands and worker info</summary>
      {open && <WorkerFacts name={name} />}
    </details>
  );
}

function WorkerFacts({ name }: { name: string }) {
  const { data, problem } = usePolled(
    (signal) => call<WorkerView>('GET', `/v1/workers/${encodeURIComponent(name)}`, { signal }),
    [name],
    { maxMs: 5000 },
  );
  if (problem && !data) return <Problem problem={problem} />;
  if (!data) return <p class="muted">Loading…</p>;
  return (
    <>
      <dl class="facts">
        <dt>Commands</dt>
        <dd class="worker-commands">{data.commands.join(', ') || '–'}</dd>
      </dl>
      {data.info ? <Json value={data.info} /> : <p class="muted">No worker info reported yet.</p>}
    </>
  );
}
