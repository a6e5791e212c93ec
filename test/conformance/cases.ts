// The conformance cases: each shell argument, every file command, interrupts, missing executables, non-zero exits.
import type { ConformanceCase } from './harness.ts';

/**
 * Each case works in a directory of its own named after it (its workdir), made by `setup`, so the two
 * engines' basedirs hold the same files. The transfers' cases are in transferCases.ts.
 */
function shell(
  name: string,
  args: Record<string, unknown>,
  extra: Partial<ConformanceCase> = {},
): ConformanceCase {
  return { name, command: 'shell', args: { workdir: name, ...args }, setup: `mkdir -p ${name}`, ...extra };
}

export const CASES: ConformanceCase[] = [
  // shell: output, exits, argument shapes
  shell('echo-string', { command: 'echo hello; echo err >&2' }),
  shell('echo-argv', { command: ['echo', 'a b', "it's", '$HOME'] }),
  shell('exit-nonzero', { command: 'echo before; exit 3' }),
  shell('exit-by-signal', { command: 'kill -9 $$' }),
  shell('missing-executable', { command: ['no-such-program-bbs'] }),
  shell('no-trailing-newline', { command: "printf 'abc'" }),
  shell('crlf-output', { command: "printf 'a\\r\\nb\\r\\n'" }),
  shell('carriage-return-progress', { command: "printf '10%%\\r50%%\\r100%%\\n'" }),
  shell('unicode-output', { command: "printf 'h\\303\\251llo \\342\\234\\223\\n'" }),
  shell('many-lines', { command: 'seq 1 3000' }),
  shell('long-line', { command: "head -c 10000 /dev/zero | tr '\\0' x; echo" }),
  shell('stderr-only', { command: 'echo oops >&2; exit 1' }),
  {
    name: 'workdir-created',
    command: 'shell',
    args: { workdir: 'workdir-created/deeper', command: 'pwd' },
  },
  // shell: env
  shell('env-set', { command: 'echo $FOO', env: { FOO: 'bar' } }),
  shell('env-list', { command: 'echo $LISTVAR', env: { LISTVAR: ['a', 'b', 'c'] } }),
  shell('env-substitution', { command: 'echo $GREETING', env: { GREETING: 'hi-${LANG}' } }),
  shell('env-null-removes', { command: 'echo ${LANG-unset}', env: { LANG: null } }),
  shell('env-pythonpath', { command: 'echo $PYTHONPATH', env: { PYTHONPATH: 'lib' } }),
  // shell: timeouts and the kill sequence
  shell('timeout', { command: 'sleep 5', timeout: 1 }, { waitSeconds: 20 }),
  shell('timeout-reset-by-output', { command: 'for i in 1 2 3; do echo $i; sleep 0.6; done', timeout: 1 }),
  shell('maxTime', { command: 'echo start; sleep 5', maxTime: 1 }, { waitSeconds: 20 }),
  shell(
    'sigtermTime-trapped',
    { command: "trap 'echo got TERM; exit 7' TERM; sleep 5 & wait", timeout: 1, sigtermTime: 2 },
    { waitSeconds: 20 },
  ),
  shell('max_lines', { command: 'seq 1 100; sleep 5', max_lines: 10 }, { waitSeconds: 20 }),
  // shell: output switches, logs, stdin, pty, environment log
  shell('want_stdout-false', { command: 'echo out; echo err >&2', want_stdout: false }),
  shell('want_stderr-false', { command: 'echo out; echo err >&2', want_stderr: false }),
  shell('logfiles', {
    command: 'echo one > out.log; echo two >> out.log; echo done',
    logfiles: { mylog: 'out.log' },
  }),
  shell('initial_stdin', { command: 'cat', initial_stdin: 'line one\nline two\n' }),
  shell('usePTY', { command: 'test -t 1 && echo on a tty', usePTY: true }),
  shell('logEnviron-false', { command: 'echo quiet', logEnviron: false }),
  // secrets: filled in on the worker, masked in everything it sends, on either engine (the agent masks)
  shell(
    'secret-masked',
    { command: 'echo key=%(secret:API_KEY)s; echo env=$K', env: { K: '%(secret:API_KEY)s' } },
    { secrets: { API_KEY: 'hunter2-bbs-conformance' } },
  ),
  // interrupts
  shell('interrupt-kill', { command: 'echo ready; sleep 30' }, { interruptAfter: { stdout: 'ready' } }),
  shell(
    'interrupt-term',
    // SIGPIPE ignored: the 3.7 worker closes the pipes right after signalling, and a trap that writes then would
    // die of SIGPIPE or exit 5 depending on which came first.
    {
      command: "trap '' PIPE; trap 'echo got TERM; exit 5' TERM; echo ready; sleep 30 & wait",
      interruptSignal: 'TERM',
    },
    { interruptAfter: { stdout: 'ready' } },
  ),
  // file commands
  { name: 'mkdir-nested', command: 'mkdir', args: { dir: 'mkdir-nested/a/b' } },
  { name: 'mkdir-list', command: 'mkdir', args: { paths: ['mkdir-list/a', 'mkdir-list/b'] } },
  {
    name: 'mkdir-over-file',
    command: 'mkdir',
    args: { dir: 'mkdir-over-file/f' },
    setup: 'mkdir -p mkdir-over-file && touch mkdir-over-file/f',
  },
  {
    name: 'rmdir-tree',
    command: 'rmdir',
    args: { dir: 'rmdir-tree/t' },
    setup: 'mkdir -p rmdir-tree/t/u && touch rmdir-tree/t/u/f',
  },
  { name: 'rmdir-missing', command: 'rmdir', args: { dir: 'rmdir-missing/nothing' } },
  {
    name: 'cpdir-tree',
    command: 'cpdir',
    args: { fromdir: 'cpdir-tree/src', todir: 'cpdir-tree/dst' },
    setup: 'mkdir -p cpdir-tree/src/s && echo x > cpdir-tree/src/s/f',
  },
  {
    name: 'cpdir-missing-source',
    command: 'cpdir',
    args: { fromdir: 'cpdir-missing-source/none', todir: 'cpdir-missing-source/d' },
  },
  {
    name: 'stat-file',
    command: 'stat',
    args: { file: 'f.txt', workdir: 'stat-file' },
    setup: 'mkdir -p stat-file && printf 12345 > stat-file/f.txt && chmod 640 stat-file/f.txt',
  },
  { name: 'stat-missing', command: 'stat', args: { file: 'stat-missing/nope' } },
  {
    name: 'glob-match',
    command: 'glob',
    args: { path: 'glob-match/*.txt' },
    setup: 'mkdir -p glob-match && touch glob-match/a.txt glob-match/b.txt glob-match/c.log',
  },
  { name: 'glob-no-match', command: 'glob', args: { path: 'glob-no-match/*.none' } },
  {
    name: 'glob-through-link-out',
    command: 'glob',
    args: { path: 'glob-through-link-out/*/host*' },
    setup:
      'mkdir -p glob-through-link-out/in && touch glob-through-link-out/in/hostile && ln -s /etc glob-through-link-out/out',
  },
  {
    name: 'listdir',
    command: 'listdir',
    args: { dir: 'listdir' },
    setup: 'mkdir -p listdir/sub && touch listdir/a listdir/b',
  },
  { name: 'listdir-missing', command: 'listdir', args: { dir: 'listdir-missing/none' } },
  {
    name: 'rmfile',
    command: 'rmfile',
    args: { path: 'rmfile/f' },
    setup: 'mkdir -p rmfile && touch rmfile/f',
  },
  { name: 'rmfile-missing', command: 'rmfile', args: { path: 'rmfile-missing/none' } },
  // refusals, the same on both engines: the agent checks before either engine runs anything
  { name: 'path-outside-basedir', command: 'mkdir', args: { dir: '../outside' } },
  { name: 'shell-missing-command', command: 'shell', args: { workdir: 'shell-missing-command' } },
];
