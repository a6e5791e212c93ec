// Owns the One command page: status, results, failure, args (no secret values), timings, interrupt, artifacts, the live log.
import { useState } from 'preact/hooks';
import { ApiProblem, call } from '../api.ts';
import { Badge, Json, Problem, Time, duration, resultName } from '../components.tsx';
import { usePolled } from '../live.ts';
import { usePush } from '../push.ts';
import type { ArtifactView } from '../../../shared/artifacts/wire.ts';
import type { CommandView } from '../../../shared/commands/wire.ts';
import type { WorkerView } from '../../../shared/workers/types.ts';
import { LogView } from './Log.tsx';
import { summary } from './Commands.tsx';

function Interrupt({ command }: { command: CommandView }) {
  const [asked, setAsked] = useState(false);
  const [problem, setProblem] = useState<ApiProblem>();
  if (command.status === 'complete') return null;
  return (
    <div class="actions">
      <button
        type="button"
        class="danger"
        disabled={asked}
        onClick={async () => {
          setAsked(true);
          try {
            await call('POST', `/v1/commands/${encodeURIComponent(command.commandId)}/interrupt`, {
              body: { why: 'interrupted from the web console' },
            });
          } catch (error) {
            if (!(error instanceof ApiProblem)) throw error;
            setProblem(error);
            setAsked(false);
          }
        }}
      >
        {asked ? 'Interrupting…' : 'Interrupt'}
      </button>
      <Problem problem={problem} />
    </div>
  );
}

/** Whether the command's worker is offline, asked only while the command is not complete (then it cannot matter). */
function WorkerPresence({ command }: { command: CommandView }) {
  if (command.status === 'complete') return null;
  return <WorkerOffline worker={command.worker} />;
}

function WorkerOffline({ worker }: { worker: string }) {
  const { data } = usePolled(
    (signal) => call<WorkerView>('GET', `/v1/workers/${encodeURIComponent(worker)}`, { signal }),
    [worker],
    { maxMs: 5000 },
  );
  if (!data || data.presence === 'online') return null;
  return (
    <div class="problem" role="status" data-kind="worker_offline">
      <strong>Worker {worker} is offline</strong> (last seen <Time iso={data.lastSeenAt} />
      ). Its commands wait in its queue until it comes back, or end RETRY when their start timeout passes.
      Start it again (npm start runs one named local; elsewhere: bbs worker --name {worker} ...).
    </div>
  );
}

function Artifacts({ command }: { command: CommandView }) {
  const complete = command.status === 'complete';
  const id = encodeURIComponent(command.commandId);
  const { data } = usePolled(
    (signal) => call<{ artifacts: ArtifactView[] }>('GET', `/v1/commands/${id}/artifacts`, { signal }),
    [command.commandId, complete],
    { maxMs: 2000, stopWhen: () => complete },
  );
  const [links, setLinks] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<ApiProblem>();
  if (!data || data.artifacts.length === 0) return null;
  return (
    <section aria-labelledby="artifacts-title">
      <h2 id="artifacts-title">Artifacts</h2>
      <Problem problem={problem} />
      <ul class="artifacts">
        {data.artifacts.map((artifact) => (
          <li key={artifact.name}>
            <button
              type="button"
              onClick={async () => {
                // A plain link cannot carry the token, and a redirect cannot be read by fetch: ask the API for
                // the short-lived presigned URL as JSON (?redirect=false), then open that.
                const opened = window.open('', '_blank');
                // The artifact's page must not be able to steer this tab (window.opener).
                if (opened) opened.opener = null;
                try {
                  const { url } = await call<{ url: string }>(
                    'GET',
                    `/v1/commands/${id}/artifacts/${encodeURIComponent(artifact.name)}`,
                    { query: { redirect: 'false' } },
                  );
                  setLinks((all) => ({ ...all, [artifact.name]: url }));
                  if (opened) opened.location.href = url;
                } catch (error) {
                  opened?.close();
                  if (!(error instanceof ApiProblem)) throw error;
                  setProblem(error);
                }
              }}
            >
              Open {artifact.name}
            </button>{' '}
            <span class="meta">
              {artifact.size} bytes · sha256{' '}
              <code title={artifact.sha256}>{artifact.sha256.slice(0, 12)}…</code>
            </span>
            {links[artifact.name] && (
              <>
                {' '}
                <a class="artifact-link" href={links[artifact.name]} rel="noreferrer" target="_blank">
                  link (expires soon)
                </a>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function CommandPage({ commandId }: { commandId: string }) {
  const push = usePush([{ commandId }]);
  const { data: command, problem } = usePolled(
    (signal) => call<CommandView>('GET', `/v1/commands/${encodeURIComponent(commandId)}`, { signal }),
    [commandId],
    { push, stopWhen: (view) => view.status === 'complete' },
  );
  return (
    <section aria-labelledby="command-title">
      <p>
        <a href="#/commands">← Commands</a>
      </p>
      <h1 id="command-title">{command ? summary(command) : commandId}</h1>
      <Problem problem={problem} />
      {command && (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <Badge status={command.status} results={command.results} />{' '}
              {command.interrupted && command.status !== 'complete' && <span>interrupt asked</span>}
            </dd>
            {command.status === 'complete' && (
              <>
                <dt>Results</dt>
                <dd class="results">
                  {resultName(command.results)} ({command.results})
                  {command.rc !== undefined && `, rc ${command.rc}`}
                </dd>
              </>
            )}
            {command.failure && (
              <>
                <dt>Failure</dt>
                <dd class="failure">
                  <code>{command.failure.kind}</code>: {command.failure.message}
                </dd>
              </>
            )}
            <dt>Worker</dt>
            <dd>
              <a href={`#/commands?worker=${encodeURIComponent(command.worker)}`}>{command.worker}</a>
            </dd>
            <dt>Id</dt>
            <dd>
              <code>{command.commandId}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              <Time iso={command.createdAt} />
            </dd>
            <dt>Started</dt>
            <dd>
              <Time iso={command.startedAt} />
              {command.startedAt &&
                ` (${duration(command.createdAt, command.startedAt)} after it was created)`}
            </dd>
            <dt>Completed</dt>
            <dd>
              <Time iso={command.completedAt} />
              {command.completedAt && ` (ran ${duration(command.startedAt, command.completedAt)})`}
            </dd>
            {command.secretNames && command.secretNames.length > 0 && (
              <>
                <dt>Secrets</dt>
                <dd>
                  {command.secretNames.join(', ')}{' '}
                  <span class="muted">(values are never stored nor shown)</span>
                </dd>
              </>
            )}
          </dl>
          <Interrupt command={command} />
          <WorkerPresence command={command} />
          <details>
            <summary>Arguments</summary>
            <Json value={command.args} />
          </details>
          <Artifacts command={command} />
          <LogView commandId={command.commandId} />
        </>
      )}
    </section>
  );
}
