// Owns the small pieces every page shows: the problem banner, result and status badges, times and durations.
import type { ApiProblem } from './api.ts';
import { nextStep } from './api.ts';
import { RESULT_NAMES } from '../../shared/commands/types.ts';
import { signOut } from './token.ts';

/** A problem as the page shows it: what happened and what to do next. */
export function Problem({ problem }: { problem: ApiProblem | undefined }) {
  if (!problem) return null;
  const signInAgain = problem.kind === 'unauthorized' || problem.kind === 'signed_out';
  return (
    <div class="problem" role="alert" data-kind={problem.kind}>
      <strong>{problem.message}</strong> {nextStep(problem.kind)}
      {signInAgain && (
        <>
          {' '}
          <button
            type="button"
            onClick={() => {
              signOut();
              location.hash = '#/';
              location.reload();
            }}
          >
            Sign in again
          </button>
        </>
      )}
    </div>
  );
}

export function resultName(results: number | undefined): string | undefined {
  return results === undefined ? undefined : (RESULT_NAMES[results] ?? String(results));
}

/** The command's state in one word: its status, or its result once complete. */
export function Badge({ status, results }: { status: string; results?: number | undefined }) {
  const name = status === 'complete' ? (resultName(results) ?? 'complete') : status;
  return <span class={`badge badge-${name.toLowerCase()}`}>{name}</span>;
}

export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">–</span>;
  const date = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {date.toLocaleString()}
    </time>
  );
}

export function duration(from: string | undefined, to: string | undefined): string | undefined {
  if (!from) return undefined;
  const ms = (to ? Date.parse(to) : Date.now()) - Date.parse(from);
  if (!Number.isFinite(ms)) return undefined;
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}
