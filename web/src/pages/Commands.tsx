// Owns the Commands page: every worker's commands (or one worker's), filtered by status and results, kept live.
import { call } from '../api.ts';
import { Badge, Problem, Time, duration } from '../components.tsx';
import { usePolled } from '../live.ts';
import { usePush } from '../push.ts';
import { COMMAND_STATUS, RESULT_NAMES } from '../../../shared/commands/types.ts';
import type { CommandList } from '../../../shared/commands/apiTypes.ts';
import type { CommandView } from '../../../shared/commands/wire.ts';
import type { WorkerList } from '../types.ts';

/** Workers read at once for "all workers" (GET /v1/commands lists one worker's commands). */
const MAX_WORKERS = 20;
/** Commands read per worker, and shown. */
const PAGE = 50;

interface Listing {
  workers: string[];
  commands: CommandView[];
}

async function loadListing(worker: string, status: string, signal: AbortSignal): Promise<Listing> {
  const { workers } = await call<WorkerList>('GET', '/v1/workers', { query: { limit: 100 }, signal });
  const names = workers.map((w) => w.name);
  const chosen = worker !== '' ? [worker] : names.slice(0, MAX_WORKERS);
  const pages = await Promise.all(
    chosen.map((name) =>
      call<CommandList>('GET', '/v1/commands', { query: { worker: name, status, limit: PAGE }, signal }),
    ),
  );
  const commands = pages
    .flatMap((page) => page.commands)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, PAGE);
  return { workers: names, commands };
}

function setFilter(query: URLSearchParams, name: string, value: string): void {
  const next = new URLSearchParams(query);
  if (value === '') next.delete(name);
  else next.set(name, value);
  const text = next.toString();
  location.hash = `#/commands${text ? `?${text}` : ''}`;
}

/** One filter of the list: a labelled select whose change rewrites the page's query (its first option: any). */
function FilterSelect(props: {
  label: string;
  name: string;
  value: string;
  query: URLSearchParams;
  /** [value, label] pairs. */
  options: [string, string][];
  /** @default 'any' */
  anyLabel?: string;
}) {
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={props.value}
        onChange={(e) => setFilter(props.query, props.name, (e.target as HTMLSelectElement).value)}
      >
        <option value="">{props.anyLabel ?? 'any'}</option>
        {props.options.map(([value, label]) => (
          <option value={value}>{label}</option>
        ))}
      </select>
    </label>
  );
}

export function CommandsPage({ query }: { query: URLSearchParams }) {
  const worker = query.get('worker') ?? '';
  const status = query.get('status') ?? '';
  const results = query.get('results') ?? '';
  const push = usePush([worker === '' ? { all: true } : { worker }]);
  const { data, problem } = usePolled((signal) => loadListing(worker, status, signal), [worker, status], {
    push,
  });
  const shown = (data?.commands ?? []).filter(
    (command) => results === '' || (command.status === 'complete' && String(command.results) === results),
  );
  return (
    <section aria-labelledby="commands-title">
      <h1 id="commands-title">Commands</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <FilterSelect
          label="Worker"
          name="worker"
          value={worker}
          query={query}
          anyLabel="all workers"
          options={(data?.workers ?? (worker ? [worker] : [])).map((name) => [name, name])}
        />
        <FilterSelect
          label="Status"
          name="status"
          value={status}
          query={query}
          options={Object.values(COMMAND_STATUS).map((name) => [name, name])}
        />
        <FilterSelect
          label="Results"
          name="results"
          value={results}
          query={query}
          options={RESULT_NAMES.map((name, code) => [String(code), name])}
        />
      </form>
      <Problem problem={problem} />
      {data && shown.length === 0 && (
        <p class="muted">No commands match. Run one: npx bbs run -- echo hello</p>
      )}
      {!data && !problem && <p class="muted">Loading…</p>}
      <ul class="commands" aria-live="polite">
        {shown.map((command) => (
          <li key={command.commandId} data-command-id={command.commandId}>
            <a href={`#/commands/${encodeURIComponent(command.commandId)}`}>
              <Badge status={command.status} results={command.results} />
              <span class="summary">{summary(command)}</span>
            </a>
            <span class="meta">
              {command.worker} · <Time iso={command.createdAt} />
              {command.startedAt && ` · ${duration(command.startedAt, command.completedAt)}`}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** `shell: make test`: the command's name and its command line, when it has one. */
export function summary(command: CommandView): string {
  const line = command.args.command;
  const text = Array.isArray(line) ? line.map(String).join(' ') : typeof line === 'string' ? line : '';
  return text ? `${command.command}: ${text}` : command.command;
}
