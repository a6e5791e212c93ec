// Buildbot's transfer commands, file by file: uploadFile (worker → artifact) and downloadFile (blob → worker), snake_case too.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { commandBlob, uploadArtifact } from '../../shared/artifacts/calls.ts';
import type { ApiConnection } from '../../shared/client/http.ts';
import * as LIMITS from '../../shared/limits.ts';
import { downloadStream } from '../../shared/artifacts/transfer.ts';
import { CommandLostError, CommandStartError } from '../errors.ts';
import { openedOutside, realBasedir, realPathInside } from '../paths.ts';
import { optionalNumberArg, optionalStringArg, requireArgs, stringArg } from './args.ts';
import type { CommandArgs } from './args.ts';
import { expandUser } from './fsArgs.ts';
import type { CommandContext, StartedCommand, WorkerCommand } from './types.ts';

/**
 * Buildbot's WorkerFileUploadCommand and WorkerFileDownloadCommand (worker/buildbot_worker/commands/
 * transfer.py), with S3 in place of the master's writer and reader: the worker asks the API for presigned URLs
 * and moves the bytes to and from S3 itself (shared/artifacts/transfer.ts), parts of 8 MiB a few at a time,
 * so memory stays bounded whatever the size. The file is `workdir`/`workersrc` (or `workerdest`) under the
 * base directory, confined by real path as every path is (paths.ts): a traversal or a symlink out is a
 * start_error.
 *
 * As Buildbot: a file that cannot be opened ends with the header "Cannot open file '<path>' for upload"
 * (or download) and rc 1; over `maxsize`, the transfer stops with "Maximum filesize reached, truncating
 * file '<path>'" and rc 1. Where we differ (docs/worker.md): over maxsize nothing is kept (Buildbot keeps
 * the truncated file); `blocksize` is accepted and unused (Buildbot's round-trip unit; ours is the part);
 * `keepstamp` is accepted and not kept (an S3 object has no mtime to set).
 */

/** Registers what else an interrupt must stop (the buildbot-worker engine's stock command). */
export type OnInterrupt = (stop: (why: string) => void) => void;

/**
 * Runs `work` with an AbortSignal that an interrupt fires (and the hook `work` registered with `onInterrupt`);
 * a failure of the transfer is a header and rc 1, except a lost worker (CommandLostError), which ends the
 * command as worker_lost.
 */
export function transferCommand(
  name: string,
  prepare: (ctx: CommandContext) => Promise<(signal: AbortSignal, onInterrupt: OnInterrupt) => Promise<void>>,
): WorkerCommand {
  return {
    name,
    async start(ctx): Promise<StartedCommand> {
      const work = await prepare(ctx);
      const aborter = new AbortController();
      let stopToo: ((why: string) => void) | undefined;
      const done = work(aborter.signal, (stop) => (stopToo = stop)).catch((error: unknown) => {
        if (error instanceof CommandLostError) throw error;
        const why = aborter.signal.aborted
          ? `interrupted: ${String(aborter.signal.reason)}`
          : (error as Error).message;
        ctx.send({ header: `${name}: ${why}\n` });
        ctx.send({ rc: 1 });
      });
      return {
        done,
        interrupt: (why) => {
          aborter.abort(why);
          stopToo?.(why);
        },
      };
    },
  };
}

export function connectionOf(ctx: CommandContext, className: string): ApiConnection {
  if (!ctx.connection)
    throw new CommandStartError(`${className}: this worker has no API connection to move bytes through`);
  return ctx.connection;
}

/** `workdir` joined with the file argument (an absolute file ignores workdir, as os.path.join does), `~` expanded. */
export function fileArg(
  className: string,
  args: CommandArgs,
  fileName: string,
): { shown: string; joined: string } {
  requireArgs(className, args, ['workdir', fileName]);
  const workdir = expandUser(stringArg(className, args, 'workdir'));
  const file = expandUser(stringArg(className, args, fileName));
  return { shown: file, joined: path.isAbsolute(file) ? file : path.join(workdir, file) };
}

export function maxsizeArg(className: string, args: CommandArgs): number | undefined {
  optionalNumberArg(className, args, 'blocksize');
  return optionalNumberArg(className, args, 'maxsize');
}

const FOLLOW = { followLast: true } as const;

/** downloadFile's args, checked, and its destination resolved inside the base directory (both engines). */
export async function downloadArgs(ctx: CommandContext, className: string) {
  requireArgs(className, ctx.args, ['blob']);
  stringArg(className, ctx.args, 'blob');
  const { shown, joined } = fileArg(className, ctx.args, 'workerdest');
  const maxsize = maxsizeArg(className, ctx.args);
  const mode = optionalNumberArg(className, ctx.args, 'mode');
  const file = await realPathInside(ctx.basedir, 'workerdest', joined, FOLLOW);
  return { shown, maxsize, mode, file, connection: connectionOf(ctx, className) };
}

/** An artifact's name: the `artifact` arg (ours), else the file's base name. */
export function artifactNameArg(className: string, args: CommandArgs, file: string, suffix = ''): string {
  const given = optionalStringArg(className, args, 'artifact');
  const name = given ?? `${path.basename(file)}${suffix}`;
  if (!/^(?!\.\.?$)[^/\\]+$/.test(name) || name.length > LIMITS.artifactNameLength)
    throw new CommandStartError(
      `${className}: '${name}' cannot name an artifact (one path component, no . or ..)`,
    );
  return name;
}

function uploadFile(name: string): WorkerCommand {
  const className = 'WorkerFileUploadCommand';
  return transferCommand(name, async (ctx) => {
    const { shown, joined } = fileArg(className, ctx.args, 'workersrc');
    const maxsize = maxsizeArg(className, ctx.args);
    const file = await realPathInside(ctx.basedir, 'workersrc', joined, FOLLOW);
    const artifact = artifactNameArg(className, ctx.args, joined);
    const connection = connectionOf(ctx, className);
    return async (signal) => {
      const handle = await open(file, 'r').catch(() => undefined);
      const info = await handle?.stat();
      if (!handle || !info?.isFile() || (await openedOutside(handle, file, await realBasedir(ctx.basedir)))) {
        await handle?.close();
        ctx.send({ header: `Cannot open file '${shown}' for upload\n` });
        ctx.send({ rc: 1 });
        return;
      }
      if (maxsize !== undefined && info.size > maxsize) {
        await handle.close();
        ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
        ctx.send({ rc: 1 });
        return;
      }
      // Chunks of 256 KiB: each is copied into a part buffer at once, and smaller ones leave less for the GC.
      const stream = handle.createReadStream({ highWaterMark: 256 * 1024 });
      try {
        const result = await uploadArtifact(connection, ctx.commandId, artifact, stream, {
          signal,
          expectedBytes: info.size,
          ...(maxsize !== undefined ? { maxBytes: maxsize } : {}),
        });
        if (result.exceeded) {
          ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
          ctx.send({ rc: 1 });
          return;
        }
        ctx.send({ rc: 0 });
      } finally {
        stream.destroy();
        await handle.close().catch(() => undefined);
      }
    };
  });
}

/**
 * Counts what passes, against the blob's size; past `maxBytes` it fails the pipeline and says so in `exceeded`. No sum:
 * a blob has none recorded to check against (docs/artifacts.md, Not done yet).
 */
class Measured extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(private readonly maxBytes: number | undefined) {
    super();
  }
  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null, data?: Buffer) => void,
  ): void {
    this.bytes += chunk.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      this.exceeded = true;
      return callback(new Error(`over maxsize (${this.maxBytes} bytes)`));
    }
    callback(null, chunk);
  }
}

function downloadFile(name: string): WorkerCommand {
  const className = 'WorkerFileDownloadCommand';
  return transferCommand(name, async (ctx) => {
    const { shown, maxsize, mode, file, connection } = await downloadArgs(ctx, className);
    return async (signal) => {
      const blob = await commandBlob(connection, ctx.commandId);
      const truncated = (): void => {
        ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
        ctx.send({ rc: 1 });
      };
      if (maxsize !== undefined && blob.size > maxsize) return truncated();
      // Written beside the destination and renamed over it once whole: a failed or stopped download leaves
      // the old file (or none), never a part.
      const partial = `${file}.bbs-${randomBytes(4).toString('hex')}.partial`;
      const cannotOpen = (): void => {
        ctx.send({ header: `Cannot open file '${shown}' for download\n` });
        ctx.send({ rc: 1 });
      };
      const made = await mkdir(path.dirname(file), { recursive: true }).then(
        () => true,
        () => false,
      );
      const handle = made ? await open(partial, 'wx').catch(() => undefined) : undefined;
      if (!handle) return cannotOpen();
      if (await openedOutside(handle, partial, await realBasedir(ctx.basedir))) {
        await handle.close();
        await rm(partial, { force: true });
        return cannotOpen();
      }
      const measured = new Measured(maxsize);
      try {
        const { body } = await downloadStream(blob.url, signal);
        await pipeline(body, measured, handle.createWriteStream(), { signal });
        if (measured.bytes !== blob.size)
          throw new Error(`the blob gave ${measured.bytes} bytes of ${blob.size}`);
        if (mode !== undefined) await chmod(partial, mode);
        await rename(partial, file);
      } catch (error) {
        await rm(partial, { force: true });
        if (measured.exceeded) return truncated();
        throw error;
      } finally {
        await handle.close().catch(() => undefined);
      }
      ctx.send({ rc: 0 });
    };
  });
}

export const uploadFileCommand = uploadFile('uploadFile');
export const uploadFileSnakeCommand = uploadFile('upload_file');
export const downloadFileCommand = downloadFile('downloadFile');
export const downloadFileSnakeCommand = downloadFile('download_file');
