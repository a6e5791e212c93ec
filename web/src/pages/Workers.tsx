// Owns the Workers page: each worker online or offline, last seen, its running commands and what it reported.
import { call } from '../api.ts';
import { Json, Problem, Time } from '../components.tsx';
import { usePolled } from '../live.ts';
import type { WorkerList } from '../types.ts';

export function WorkersPage() {
  const { data, problem } = usePolled(
    (signal) => call<WorkerList>('GET', '/v1/workers', { query: { limit: 100 }, signal }),
    [],
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
              <dt>Commands</dt>
              <dd>{worker.commands.join(', ') || '–'}</dd>
              <dt>Version</dt>
              <dd>{worker.version ?? '–'}</dd>
              <dt>Registered</dt>
              <dd>
                <Time iso={worker.createdAt} />
              </dd>
            </dl>
            {worker.info && (
              <details>
                <summary>Worker info</summary>
                <Json value={worker.info} />
              </details>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
