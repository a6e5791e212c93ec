// Owns the console's calls to the HTTP API: the bearer token in a header (never the URL) and errors that say what to do.
import { currentToken } from './token.ts';

/** What went wrong, in the words the page shows, with the next step a person can take. */
export type ProblemKind =
  'signed_out' | 'unauthorized' | 'forbidden' | 'unreachable' | 'not_found' | 'refused';

export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

const NEXT_STEP: Record<ProblemKind, string> = {
  signed_out: 'Sign in with the link npm start prints, or paste a client token.',
  unauthorized:
    'The token was refused: it is wrong, revoked, or from a stack that has since restarted (npm start makes new tokens each run). Open the link npm start printed last, or paste a current client token.',
  forbidden: "This token's role may not do that: use a client (or admin) token.",
  unreachable:
    'The API does not answer. Is npm start still running? Start it again and open the new link it prints.',
  not_found: 'It does not exist (or no longer does): check the id.',
  refused: 'The API refused the request.',
};

export function nextStep(kind: ProblemKind): string {
  return NEXT_STEP[kind];
}

/** An address of the API relative to the page, so a stage path prefix (if any) is kept. */
export function apiUrl(path: string, query: Record<string, string | number | undefined> = {}): string {
  const url = new URL(path.replace(/^\//, ''), document.baseURI);
  url.hash = '';
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  return url.toString();
}

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Read the answer as text instead of JSON. */
  text?: boolean;
  signal?: AbortSignal;
}

/** One API call: JSON both ways, `Authorization: Bearer <token>`; every failure an ApiProblem. */
export async function call<T>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const token = currentToken();
  if (token === undefined) throw new ApiProblem('signed_out', 'Not signed in.');
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let answer: Response;
  try {
    answer = await fetch(apiUrl(path, opts.query), {
      method,
      headers,
      cache: 'no-store',
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiProblem('unreachable', 'Cannot reach the API.');
  }
  const text = await answer.text().catch(() => '');
  if (answer.ok) return (opts.text ? text : text === '' ? undefined : JSON.parse(text)) as T;
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // API Gateway's own answers and proxies may not be JSON.
  }
  const kind: ProblemKind =
    answer.status === 401
      ? 'unauthorized'
      : answer.status === 403
        ? 'forbidden'
        : answer.status === 404
          ? 'not_found'
          : answer.status >= 502 && answer.status <= 504
            ? 'unreachable'
            : 'refused';
  throw new ApiProblem(
    kind,
    body.message ?? `${answer.status} ${answer.statusText}`,
    answer.status,
    body.code,
  );
}
