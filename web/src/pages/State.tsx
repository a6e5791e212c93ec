// Owns the State page: the service's own per-worker state (WorkerLastResult), and any object's named value as JSON.
import { useState } from 'preact/hooks';
import { ApiProblem, call } from '../api.ts';
import { Json, Problem } from '../components.tsx';
import { usePolled } from '../live.ts';
import type { WorkerList } from '../types.ts';

/** What the lastResult function keeps per worker (shared/commands/lastResult.ts). */
const LAST_RESULT = { className: 'WorkerLastResult', stateName: 'bbs:lastResult' } as const;

/**
 * Ids already looked up, by `className\u0000name`: an object's id never changes once allocated, so each pair is
 * asked once per page load, not on every poll (20 workers would otherwise cost 20 more Lambda calls a poll).
 */
const objectIds = new Map<string, number>();

/**
 * The id of (className, name). POST /v1/objects is Buildbot's getObjectId: it allocates an id for a pair it has
 * not seen (one counter update and one item), which is harmless, as Buildbot does on any lookup.
 */
async function objectIdOf(className: string, name: string, signal?: AbortSignal): Promise<number> {
  const key = `${className}\u0000${name}`;
  const known = objectIds.get(key);
  if (known !== undefined) return known;
  const { objectId } = await call<{ objectId: number }>('POST', '/v1/objects', {
    body: { name, className },
    ...(signal ? { signal } : {}),
  });
  objectIds.set(key, objectId);
  return objectId;
}

async function readState(className: string, name: string, stateName: string, signal?: AbortSignal) {
  const objectId = await objectIdOf(className, name, signal);
  const path = `/v1/objects/${objectId}/state/${encodeURIComponent(stateName)}`;
  // ?default=null: a missing value reads as null rather than a 404.
  const { value } = await call<{ value: unknown }>('GET', path, {
    query: { default: 'null' },
    ...(signal ? { signal } : {}),
  });
  return { objectId, value };
}

function LastResults() {
  const { data, problem } = usePolled(
    async (signal) => {
      const { workers } = await call<WorkerList>('GET', '/v1/workers', { query: { limit: 20 }, signal });
      return Promise.all(
        workers.map(async (worker) => ({
          worker: worker.name,
          ...(await readState(LAST_RESULT.className, worker.name, LAST_RESULT.stateName, signal)),
        })),
      );
    },
    [],
    { maxMs: 5000 },
  );
  return (
    <section aria-labelledby="last-title">
      <h2 id="last-title">
        Class <code>{LAST_RESULT.className}</code>, state <code>{LAST_RESULT.stateName}</code>
      </h2>
      <Problem problem={problem} />
      {data?.map((row) => (
        <details open>
          <summary>
            {row.worker} <span class="muted">(object {row.objectId})</span>
          </summary>
          <Json value={row.value} />
        </details>
      ))}
    </section>
  );
}

export function StatePage() {
  const [form, setForm] = useState({ className: '', name: '', stateName: '' });
  const [shown, setShown] = useState<{ objectId: number; value: unknown }>();
  const [problem, setProblem] = useState<ApiProblem>();
  const field = (key: keyof typeof form, label: string) => (
    <label>
      {label}
      <input
        name={key}
        value={form[key]}
        required
        onInput={(event) => setForm({ ...form, [key]: (event.target as HTMLInputElement).value })}
      />
    </label>
  );
  return (
    <section aria-labelledby="state-title">
      <h1 id="state-title">State</h1>
      <p class="muted">
        Buildbot's per-object state: an object is a (class, name) pair with an id, and holds named JSON
        values. The API reads one value at a time (there is no listing of every object of a class yet).
      </p>
      <form
        class="filters"
        onSubmit={async (event) => {
          event.preventDefault();
          setProblem(undefined);
          try {
            setShown(await readState(form.className, form.name, form.stateName));
          } catch (error) {
            if (!(error instanceof ApiProblem)) throw error;
            setProblem(error);
          }
        }}
      >
        {field('className', 'Class')}
        {field('name', 'Object name')}
        {field('stateName', 'State name')}
        <button type="submit">Read</button>
      </form>
      <Problem problem={problem} />
      {shown && (
        <div class="state-value">
          <p class="muted">object {shown.objectId} (null: no value of that name)</p>
          <Json value={shown.value} />
        </div>
      )}
      <LastResults />
    </section>
  );
}
