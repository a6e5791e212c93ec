// `bbs cp SRC DEST`: copies a file (or with -r a directory) between this machine and a worker, as scp writes it.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { RemoteCommand } from '../shared/client/RemoteCommand.ts';
import type { CommandsClient } from '../shared/client/CommandsClient.ts';
import type { CommandFailure } from '../shared/commands/types.ts';
import type { CommandUpdate } from '../shared/commands/wire.ts';
import { CONNECTION_OPTIONS, clientFrom, parse, positionalsOf } from './args.ts';
import { UsageError } from './errors.ts';
import { EXIT } from './exitCodes.ts';
import type { Io } from './io.ts';
import { exitStatus } from './run.ts';

/**
 * `WORKER:PATH` is a path on a worker (relative to its basedir, or --workdir), anything else a local path:
 * a word before the first `:` with no `/` in it names a worker, as scp reads it.
 *   bbs cp w1:out/app.tar.gz .          uploadFile on w1, then the artifact downloaded (sha256 checked)
 *   bbs cp ./config.json w1:conf/       a blob uploaded, then downloadFile on w1
 *   bbs cp -r w1:out ./out              uploadDirectory (gz) on w1, unpacked here with tar
 * The bytes go through S3 on presigned URLs (docs/artifacts.md). Exit status as bbs run's: the transfer
 * command's rc (1 over maxsize or when a file cannot be opened), 2 EXCEPTION, 75 RETRY, 130 interrupted.
 */
const OPTIONS = {
  ...CONNECTION_OPTIONS,
  recursive: { type: 'boolean', short: 'r' },
  workdir: { type: 'string', short: 'd' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

interface Remote {
  worker: string;
  path: string;
}

function remoteOf(spec: string): Remote | undefined {
  const match = /^([A-Za-z0-9_-]+):(.*)$/.exec(spec);
  return match ? { worker: match[1]!, path: match[2] || '.' } : undefined;
}

/** A transfer command whose headers go to stderr and whose failure becomes the exit status (as bbs run's). */
class CliTransferCommand extends RemoteCommand {
  constructor(
    command: string,
    args: Record<string, unknown>,
    private readonly io: Io,
  ) {
    super(command, args);
  }
  override async remoteUpdate(update: CommandUpdate, seq: number): Promise<void> {
    if (update.header !== undefined) await this.io.writeErr(update.header);
    await super.remoteUpdate(update, seq);
  }
  override async remoteComplete(_failure: CommandFailure | undefined): Promise<undefined> {
    return undefined;
  }
}

/** A progress bar on stderr when it is a terminal; nothing otherwise (a pipe, a test). */
function progress(
  io: Io,
  label: string,
  quiet: boolean,
): ((bytes: number, size: number) => void) | undefined {
  if (quiet || !process.stderr.isTTY) return undefined;
  let last = 0;
  return (bytes, size) => {
    const now = Date.now();
    if (now - last < 100 && bytes < size) return;
    last = now;
    const width = 30;
    const done = size > 0 ? Math.min(1, bytes / size) : 1;
    const bar = '#'.repeat(Math.round(done * width)).padEnd(width, '.');
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    void io.writeErr(`\r${label} [${bar}] ${mib(bytes)}/${mib(size)} MiB${bytes >= size ? '\n' : ''}`);
  };
}

async function runTransfer(
  api: CommandsClient,
  worker: string,
  cmd: CliTransferCommand,
  io: Io,
): Promise<number> {
  const stopWaiting = new AbortController();
  const removeHandler = io.onInterrupt(() => {
    void cmd.interrupt('interrupted by bbs cp (SIGINT)').catch(() => undefined);
    stopWaiting.abort();
  });
  try {
    await cmd.run(api, worker, { signal: stopWaiting.signal });
  } catch (error) {
    if (stopWaiting.signal.aborted) return EXIT.cancelled;
    throw error;
  } finally {
    removeHandler();
  }
  return exitStatus(cmd, io);
}

async function isDirectory(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isDirectory() ?? false;
}

/** Worker → here: uploadFile (or uploadDirectory), then the artifact, checked, into place. */
async function download(
  api: CommandsClient,
  from: Remote,
  to: string,
  opts: CopyOptions,
  io: Io,
): Promise<number> {
  const base = path.posix.basename(from.path);
  const command = opts.recursive ? 'uploadDirectory' : 'uploadFile';
  const args = { workersrc: from.path, workdir: opts.workdir, ...(opts.recursive ? { compress: 'gz' } : {}) };
  const cmd = new CliTransferCommand(command, args, io);
  const status = await runTransfer(api, from.worker, cmd, io);
  if (status !== EXIT.ok) return status;
  const name = opts.recursive ? `${base}.tar.gz` : base;
  const target = opts.recursive ? to : (await isDirectory(to)) ? path.join(to, base) : to;
  const partial = `${target}.bbs-partial`;
  const onProgress = progress(io, name, opts.quiet);
  if (!opts.recursive) {
    try {
      await api.downloadArtifact(
        cmd.commandId!,
        name,
        createWriteStream(partial),
        onProgress ? { onProgress } : {},
      );
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return EXIT.ok;
  }
  // A directory: into `to` when it does not exist yet, else into `to`/<name>, as cp -r does.
  const into = (await isDirectory(to)) ? path.join(to, base) : to;
  await mkdir(into, { recursive: true });
  const tar = spawn('tar', ['-xzf', '-', '-C', into], { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', resolve);
  });
  await api.downloadArtifact(cmd.commandId!, name, tar.stdin, onProgress ? { onProgress } : {});
  const code = await exited;
  if (code !== 0) throw new UsageError(`tar could not unpack ${name} into ${into} (exit ${code})`);
  return EXIT.ok;
}

/** Here → worker: the file as a blob, then downloadFile. */
async function upload(
  api: CommandsClient,
  from: string,
  to: Remote,
  opts: CopyOptions,
  io: Io,
): Promise<number> {
  if (opts.recursive)
    throw new UsageError('bbs cp -r copies a directory from a worker; to a worker, copy files');
  const info = await stat(from).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`bbs cp: ${from} is not a file`);
  const workerdest =
    to.path.endsWith('/') || to.path === '.' ? path.posix.join(to.path, path.basename(from)) : to.path;
  const onProgress = progress(io, path.basename(from), opts.quiet);
  const { blobId } = await api.uploadBlob(
    createReadStream(from, { highWaterMark: 1024 * 1024 }),
    info.size,
    onProgress ? { onProgress: (bytes) => onProgress(bytes, info.size) } : {},
  );
  const cmd = new CliTransferCommand('downloadFile', { blob: blobId, workerdest, workdir: opts.workdir }, io);
  return runTransfer(api, to.worker, cmd, io);
}

interface CopyOptions {
  recursive: boolean;
  workdir: string;
  quiet: boolean;
}

/** `bbs cp [-r] [-d WORKDIR] SRC DEST` */
export async function cpCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('cp', argv, OPTIONS);
  const [src, dest] = positionalsOf('cp', positionals, ['src', 'dest']) as [string, string];
  const [from, to] = [remoteOf(src), remoteOf(dest)];
  if ((from === undefined) === (to === undefined))
    throw new UsageError(
      'bbs cp: one of SRC and DEST is WORKER:PATH and the other a local path (see bbs help cp)',
    );
  const api = clientFrom(values, io.env);
  const opts = {
    recursive: values.recursive ?? false,
    workdir: values.workdir ?? '.',
    quiet: values.quiet ?? false,
  };
  return from ? download(api, from, dest, opts, io) : upload(api, src, to!, opts, io);
}
