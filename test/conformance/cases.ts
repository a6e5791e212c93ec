// The conformance cases: each shell argument, every file command, the transfers, interrupts, missing executables, non-zero exits.
import type { ConformanceCase } from './harness.ts';

/**
 * Each case works in a directory of its own named after it (its workdir), made by `setup`, so the two
 * engines' basedirs hold the same files (made by commands, never random, so the bytes are the same too).
 */
function shell(
  name: string,
  args: Record<string, unknown>,
  extra: Partial<ConformanceCase> = {},
): ConformanceCase {
  return { name, command: 'shell', args: { workdir: name, ...args }, setup: `mkdir -p ${name}`, ...extra };
}

/** Bytes for a downloadFile's blob: 2.5 MiB, three of the stock worker's 1 MiB blocks, the same for both engines. */
function blobBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
  return bytes;
}

/** A tree for uploadDirectory: files in two levels, a mode, an empty directory and a symlink. */
const TREE =
  'mkdir -p d/sub d/empty && seq 1 20000 > d/a.txt && echo x > d/sub/b.txt && chmod 640 d/a.txt && ln -sf a.txt d/link';

function transfer(
  name: string,
  command: string,
  args: Record<string, unknown>,
  setup: string,
  extra: Partial<ConformanceCase> = {},
): ConformanceCase {
  return {
    name,
    command,
    args: { workdir: name, ...args },
    setup: `mkdir -p ${name} && cd ${name} && ${setup}`,
    ...extra,
  };
}

/** uploadFile, uploadDirectory, downloadFile: results, headers, and the bytes that arrived (transfers.ts). */
const TRANSFER_CASES: ConformanceCase[] = [
  // 3.4 MB: several of the stock worker's blocks
  transfer('upload-file', 'uploadFile', { workersrc: 'f.txt' }, 'seq 1 500000 > f.txt'),
  transfer(
    'upload-file-snake-keepstamp',
    'upload_file',
    { workersrc: 'f.txt', keepstamp: true },
    'seq 1 10 > f.txt',
  ),
  transfer('upload-file-empty', 'uploadFile', { workersrc: 'empty' }, ': > empty'),
  transfer(
    'upload-file-maxsize',
    'uploadFile',
    { workersrc: 'f.txt', maxsize: 1500000 },
    'seq 1 500000 > f.txt',
  ),
  transfer(
    'upload-file-exactly-maxsize',
    'uploadFile',
    { workersrc: 'ten', maxsize: 10 },
    'printf 0123456789 > ten',
  ),
  transfer('upload-file-missing', 'uploadFile', { workersrc: 'none' }, 'true'),
  transfer('upload-directory', 'uploadDirectory', { workersrc: 'd' }, TREE),
  transfer('upload-directory-gz', 'uploadDirectory', { workersrc: 'd', compress: 'gz' }, TREE),
  transfer('upload-directory-bz2', 'upload_directory', { workersrc: 'd', compress: 'bz2' }, TREE),
  transfer('upload-directory-maxsize', 'uploadDirectory', { workersrc: 'd', maxsize: 2000 }, TREE),
  transfer('upload-directory-missing', 'uploadDirectory', { workersrc: 'none' }, 'true'),
  transfer('download-file', 'downloadFile', { workerdest: 'sub/in.bin' }, 'true', {
    blob: blobBytes(2.5 * 1024 * 1024),
    inspect: 'download-file/sub/in.bin',
  }),
  transfer('download-file-mode', 'download_file', { workerdest: 'in.bin', mode: 0o600 }, 'true', {
    blob: blobBytes(1000),
    inspect: 'download-file-mode/in.bin',
  }),
  transfer('download-file-empty', 'downloadFile', { workerdest: 'empty' }, 'true', {
    blob: Buffer.alloc(0),
    inspect: 'download-file-empty/empty',
  }),
  transfer('download-file-maxsize', 'downloadFile', { workerdest: 'in.bin', maxsize: 10 }, 'true', {
    blob: blobBytes(1000),
    inspect: 'download-file-maxsize/in.bin',
  }),
  transfer(
    'download-file-cannot-open',
    'downloadFile',
    { workerdest: 'blocker/in.bin' },
    'echo old > blocker',
    {
      blob: blobBytes(1000),
      inspect: 'download-file-cannot-open/blocker',
    },
  ),
  transfer('upload-file-outside-basedir', 'uploadFile', { workersrc: '../../etc/passwd' }, 'true'),
  transfer('download-file-outside-basedir', 'downloadFile', { workerdest: '../../tmp/x' }, 'true', {
    blob: blobBytes(10),
  }),
];

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
  ...TRANSFER_CASES,
  // refusals, the same on both engines: the agent checks before either engine runs anything
  { name: 'path-outside-basedir', command: 'mkdir', args: { dir: '../outside' } },
  { name: 'shell-missing-command', command: 'shell', args: { workdir: 'shell-missing-command' } },
];
