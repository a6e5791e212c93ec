// The known differences between our worker and the stock buildbot-worker, as data: the suite reads it, docs/conformance.md shows it.
import type { Observation } from './harness.ts';

/**
 * One difference the suite accepts. In case `case` (every case for '*'; with a trailing '*', every case whose
 * name starts so), `field` differs between the engines
 * for `reason`. With `rewrite`, only that part is accepted: the pattern is replaced on the named side before
 * comparing, so anything else that differs in the same field still fails. Without it, the whole field may
 * differ in that case. `kind`: 'ours' (our worker is wrong: to fix), 'choice' (ours differs on purpose),
 * 'stock' (Buildbot 3.7's worker, or its place under the agent, is the odd one). A listed difference that no
 * longer occurs fails the suite, so the list stays true.
 */
export interface KnownDifference {
  case: string;
  field: keyof Observation;
  kind: 'ours' | 'choice' | 'stock';
  reason: string;
  rewrite?: { side: 'ours' | 'stock' | 'both'; pattern: RegExp; replacement: string };
}

const PROCESS_CASES_NOTE = 'every case that runs a process (shell, rmdir, cpdir)';

export const DIFFERENCES: KnownDifference[] = [
  {
    case: '*',
    field: 'header',
    kind: 'stock',
    reason: `The header's argv line (${PROCESS_CASES_NOTE}): Buildbot 3.7 on Python 3 prints the argv as bytes reprs (b'echo'), and a string command as that string; ours prints str reprs of the argv it runs (['/bin/sh', '-c', command]).`,
    rewrite: { side: 'both', pattern: /^ argv: .*\n/m, replacement: ' argv: <argv>\n' },
  },
  {
    case: '*',
    field: 'header',
    kind: 'stock',
    reason:
      "The timeout, maxTime and max_lines messages name the command: Buildbot 3.7 as a bytes repr (running b'sleep 5'), ours as text (running sleep 5).",
    rewrite: {
      side: 'stock',
      pattern: /running b(['"])(.*?)\1, attempting/g,
      replacement: 'running $2, attempting',
    },
  },
  {
    case: '*',
    field: 'header',
    kind: 'stock',
    reason:
      "rmdir and cpdir run in the worker's own base directory: the stock worker's is .buildbot-worker inside the agent's basedir, where the agent keeps its buildbot.tac and twistd.log.",
    rewrite: {
      side: 'stock',
      pattern: / in dir <basedir>\/\.buildbot-worker /g,
      replacement: ' in dir <basedir> ',
    },
  },
  {
    case: '*',
    field: 'header',
    kind: 'choice',
    reason:
      "An OS error's header names the path: the stock worker gets absolute paths from the master's path work and names them so; ours names the path as the client gave it (relative to basedir).",
    rewrite: {
      side: 'stock',
      pattern: /^(mkdir|stat|listdir|rmfile): (.*): <basedir>\/(.*)$/m,
      replacement: '$1: $2: $3',
    },
  },
  {
    case: 'upload-*',
    field: 'header',
    kind: 'stock',
    reason:
      "uploadFile and uploadDirectory: the 3.7 worker's header says 'sending PATH' (the absolute path the master's path work gave it) before it sends, even for a file it then cannot open; our worker writes no such line. The agent passes the worker's headers on as they come.",
    rewrite: { side: 'stock', pattern: /^sending <basedir>\/.*\n/m, replacement: '' },
  },
  {
    case: 'long-line',
    field: 'stdout',
    kind: 'stock',
    reason:
      "A line over 4096 characters: Buildbot's master sends max_line_length 4096 in set_worker_settings and the worker breaks longer lines with '\\n'; ours sends the line whole (the client's line observers bound what they keep).",
  },
  {
    case: 'no-trailing-newline',
    field: 'stdout',
    kind: 'stock',
    reason:
      "Buildbot's worker splits output into whole lines (LineBoundaryFinder) and ends an unterminated last line with '\\n' when it flushes; ours sends the bytes as the program wrote them ('abc').",
  },
  ...['crlf-output', 'carriage-return-progress', 'usePTY'].map((name): KnownDifference => ({
    case: name,
    field: 'stdout',
    kind: 'stock',
    reason:
      "Line ends: Buildbot's master sends the worker a newline_re (set_worker_settings) that turns '\\r\\n' and a lone '\\r' into '\\n' on the worker; ours keeps the program's bytes (a pty's '\\r\\n', a progress bar's '\\r'), and the client's log observers split on them.",
  })),
  ...(['rc', 'results', 'header'] as const).map((field): KnownDifference => ({
    case: 'max_lines',
    field,
    kind: 'stock',
    reason:
      'max_lines came to the worker after 3.7 (runprocess.py _check_max_lines): the 3.7 worker ignores it and the command runs to its end; ours kills it past the limit, as current Buildbot does.',
  })),
  {
    case: 'interrupt-term',
    field: 'stdout',
    kind: 'stock',
    reason:
      "After an interrupt the 3.7 worker stops passing on the program's output, so what a trapped TERM handler prints ('got TERM') is lost; ours keeps it until the process ends.",
  },
  ...(['rc', 'results', 'failure_kind', 'failure_message', 'stderr', 'header'] as const).map(
    (field): KnownDifference => ({
      case: 'missing-executable',
      field,
      kind: 'choice',
      reason:
        "A program that does not exist: Twisted forks first, so the 3.7 worker's exec fails in the child, which prints a Python traceback to stderr and exits 1 (results FAILURE); ours fails to spawn and completes with start_error (results EXCEPTION) and Buildbot's 'error in RunProcess._startCommand' text, as docs/worker.md documents for a missing executable.",
    }),
  ),
];
