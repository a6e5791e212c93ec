// The buildbot-worker engine's transfers: uploadFile, uploadDirectory, downloadFile through the stock worker's write/read ops, onto S3.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { commandBlob, uploadArtifact } from '../../shared/artifacts/calls.ts';
import type { ArtifactUpload } from '../../shared/artifacts/calls.ts';
import { downloadStream } from '../../shared/artifacts/transfer.ts';
import { CommandLostError, CommandStartError } from '../errors.ts';
import { realPathInside } from '../paths.ts';
import { optionalStringArg } from '../commands/args.ts';
import {
  artifactNameArg,
  connectionOf,
  downloadArgs,
  fileArg,
  maxsizeArg,
  transferCommand,
} from '../commands/transfer.ts';
import type { CommandContext, WorkerCommand } from '../commands/types.ts';
import type { MsgpackValue } from './msgpackCodec.ts';
import { stockConnection, textOf } from './msgpackMaster.ts';
import type { Message, MsgpackMaster, StockWorkerConnection } from './msgpackMaster.ts';
import { BlockChannel, BlockReader } from './stockStreams.ts';

/**
 * Buildbot's master serves a transfer with a writer or a reader object (process/remotetransfer.py); over
 * msgpack the worker calls it back with `update_upload_file_write`/`_close`/`_utime`,
 * `update_upload_directory_write`/`_unpack` and `update_read_file`/`_close` (buildbot_worker/msgpack.py).
 * The agent, as that master, moves the bytes onto the artifact path our own worker uses (shared/artifacts):
 *
 * - uploadFile / uploadDirectory: the blocks the stock worker writes are streamed into uploadArtifact, parts
 *   of the size the API gives (8 MiB), a few in flight, and sha256 is taken as they pass, as our worker does.
 *   The artifact is completed only after the stock worker reported rc 0: a failed or interrupted transfer
 *   records nothing. `maxsize` goes to the stock worker as maxsize + 1 so that a file of exactly maxsize is
 *   not taken for a truncated one (3.7 says "Maximum filesize reached" once its budget is used up, even at
 *   the end of the file); more than maxsize bytes arriving is the agent's "Maximum filesize reached", rc 1.
 * - downloadFile: the agent reads the blob (GET on its presigned URL) and answers each update_read_file with
 *   the bytes it read (Buildbot 3.7's own master answered None, so the worker wrote an empty file). The stock
 *   worker writes beside the destination; only when it reported rc 0, the bytes served are the blob's size,
 *   and the file it wrote has that size and the sha256 of what was served, is it renamed into place.
 *   Otherwise it is removed and the command ends with rc 1: never an empty or short file reported as success.
 *
 * The messages are our worker's (worker/commands/transfer.ts): the stock worker's own status words for a
 * transfer (its `stderr`, naming the absolute path) become our headers, naming the path as the client gave
 * it. Its `sending PATH` header is passed on as it comes (docs/conformance.md lists it).
 */

/** The block the stock worker reads and sends per round trip (Buildbot's default is 16 KiB; ours is the part). */
const STOCK_BLOCK_BYTES = 1024 * 1024;

const FOLLOW = { followLast: true } as const;

/** What the stock worker said about one transfer by its `complete`. */
interface StockOutcome {
  rc: number | null;
  /** Its status words for a transfer (TransferCommand.finished sends them as stderr). */
  stderr: string;
  /** `complete`'s failure text, or null. */
  failure: string | null;
}

let nextTransferId = 0;

/**
 * Starts `wireName` on the stock worker and resolves with its outcome at `complete`. Headers go to the client
 * as they come; transfer ops go to `onTransfer`. A lost worker rejects with CommandLostError (worker_lost).
 */
async function runOnStock(
  ctx: CommandContext,
  connection: StockWorkerConnection,
  wireName: string,
  args: Message,
  onTransfer: (op: string, message: Message) => Promise<MsgpackValue>,
): Promise<{ outcome: Promise<StockOutcome>; interrupt(why: string): void }> {
  const id = `t${nextTransferId++}`;
  const seen: StockOutcome = { rc: null, stderr: '', failure: null };
  let settle!: { resolve(o: StockOutcome): void; reject(e: Error): void };
  const outcome = new Promise<StockOutcome>((resolve, reject) => (settle = { resolve, reject }));
  // The stock worker's refusal to start (its own words) ends the transfer as a header and rc 1.
  await connection.startCommand(id, wireName, args, {
    onUpdate: (pairs) => {
      for (const [key, value] of pairs) {
        if (key === 'header') ctx.send({ header: textOf(value) });
        else if (key === 'stderr') seen.stderr += textOf(value);
        else if (key === 'rc') seen.rc = typeof value === 'number' ? value : null;
      }
    },
    onComplete: (failure) => settle.resolve({ ...seen, failure }),
    onLost: (why) =>
      settle.reject(new CommandLostError(`${why} while the command ran (buildbot-worker lost)`)),
    onTransfer,
  });
  return {
    outcome,
    interrupt: (why) => void connection.interruptCommand(id, why).catch(() => undefined),
  };
}

/** The stock worker's status words as our worker's header, naming the path as the client gave it. */
function ourHeader(name: string, stderr: string, shown: string): string {
  const text = stderr.trim();
  if (text.startsWith('Maximum filesize reached'))
    return `Maximum filesize reached, truncating file '${shown}'\n`;
  if (/^Cannot open file '.*' for upload$/s.test(text)) return `Cannot open file '${shown}' for upload\n`;
  if (/^Cannot open file '.*' for download$/s.test(text)) return `Cannot open file '${shown}' for download\n`;
  if (text.startsWith('Cannot read directory')) return `Cannot read directory '${shown}' for upload\n`;
  // A failure's Python traceback: its first line says what happened.
  return `${name}: ${text.split('\n')[0] || 'buildbot-worker ended the transfer with an error'}\n`;
}

const COMPRESSIONS = { gz: '.gz', bz2: '.bz2' } as const;

function stockUpload(name: string, master: MsgpackMaster, directory: boolean): WorkerCommand {
  const className = directory ? 'WorkerDirectoryUploadCommand' : 'WorkerFileUploadCommand';
  const wireName = directory ? 'upload_directory' : 'upload_file';
  return transferCommand(name, async (ctx) => {
    const { shown, joined } = fileArg(className, ctx.args, 'workersrc');
    const maxsize = maxsizeArg(className, ctx.args);
    const compress = directory ? optionalStringArg(className, ctx.args, 'compress') : undefined;
    if (compress !== undefined && compress !== 'gz' && compress !== 'bz2')
      throw new CommandStartError(`${className}: 'compress' must be null, 'gz' or 'bz2', got '${compress}'`, {
        details: { arg: 'compress' },
      });
    // Taken as our worker takes it: unchecked, and an artifact keeps no mtime (the utime op is answered, unused).
    const keepstamp = !directory && Boolean(ctx.args.keepstamp);
    const source = await realPathInside(ctx.basedir, 'workersrc', joined, FOLLOW);
    const suffix = directory ? `.tar${compress ? COMPRESSIONS[compress] : ''}` : '';
    const artifact = artifactNameArg(className, ctx.args, joined, suffix);
    const connection = connectionOf(ctx, className);
    const stockWorker = await stockConnection(master, name);
    return async (signal, onInterrupt) => {
      const info = await stat(source).catch(() => undefined);
      // 3.7 tars a directory that is not there without a try: a Python traceback as the command's failure, and
      // its temporary tar left behind. The agent checks first and answers as our worker does.
      if (directory && !info?.isDirectory()) {
        ctx.send({ header: `Cannot read directory '${shown}' for upload\n` });
        return ctx.send({ rc: 1 });
      }
      const expected = directory ? undefined : info?.size;
      const channel = new BlockChannel();
      let upload: Promise<ArtifactUpload> | undefined;
      // Started at the first block (or at rc 0 for an empty file): a worker that cannot read its source
      // starts no artifact at all.
      const begin = (): Promise<ArtifactUpload> => {
        if (upload) return upload;
        upload = uploadArtifact(connection, ctx.commandId, artifact, channel, {
          signal,
          ...(maxsize !== undefined ? { maxBytes: maxsize } : {}),
          ...(expected !== undefined ? { expectedBytes: expected } : {}),
        });
        upload.catch((error: Error) => channel.consumerFailed(error));
        return upload;
      };
      const writeOp = directory ? 'update_upload_directory_write' : 'update_upload_file_write';
      const stock = await runOnStock(
        ctx,
        stockWorker,
        wireName,
        {
          workdir: path.dirname(source),
          workersrc: path.basename(source),
          path: source,
          writer: null,
          maxsize: maxsize === undefined ? null : maxsize + 1,
          blocksize: STOCK_BLOCK_BYTES,
          ...(directory ? { compress: compress ?? null } : { keepstamp }),
        },
        async (op, message) => {
          if (op === writeOp) {
            if (!Buffer.isBuffer(message.args)) throw new Error(`${op} without bytes`);
            void begin();
            await channel.push(message.args);
            return null;
          }
          // _close, _utime (an artifact keeps no mtime, as with our worker), _unpack (the artifact is the tar)
          if (op.startsWith(directory ? 'update_upload_directory_' : 'update_upload_file_')) return null;
          throw new Error(`${op} is not an op of ${wireName}`);
        },
      );
      onInterrupt(stock.interrupt);
      let outcome: StockOutcome;
      try {
        outcome = await stock.outcome;
      } catch (error) {
        channel.fail(error as Error);
        throw error;
      }
      if (outcome.rc === 0 && outcome.failure === null) {
        channel.end();
        const result = await begin();
        if (result.exceeded) {
          ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
          return ctx.send({ rc: 1 });
        }
        if (result.artifact.size !== channel.bytes)
          throw new Error(
            `stored ${result.artifact.size} bytes of the ${channel.bytes} buildbot-worker sent`,
          );
        return ctx.send({ rc: 0 });
      }
      channel.fail(new Error(`buildbot-worker ended ${wireName} with rc ${String(outcome.rc)}`));
      const result = await upload?.catch((error: Error) => error);
      if (signal.aborted) throw new Error('interrupted');
      // The artifact path failed under the worker (S3, the API): its error, not the worker's echo of it.
      if (result instanceof Error) throw result;
      if (result?.exceeded) ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
      else ctx.send({ header: ourHeader(name, outcome.stderr || (outcome.failure ?? ''), shown) });
      ctx.send({ rc: 1 });
    };
  });
}

/** sha256 and size of a file as it is on disk now. */
async function fileSum(file: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

function stockDownload(name: string, master: MsgpackMaster): WorkerCommand {
  const className = 'WorkerFileDownloadCommand';
  return transferCommand(name, async (ctx) => {
    const { shown, maxsize, mode, file, connection } = await downloadArgs(ctx, className);
    const stockWorker = await stockConnection(master, name);
    return async (signal, onInterrupt) => {
      const blob = await commandBlob(connection, ctx.commandId);
      // As our worker: a blob over maxsize is refused before anything is written (3.7 would keep a truncated file).
      if (maxsize !== undefined && blob.size > maxsize) {
        ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
        return ctx.send({ rc: 1 });
      }
      // Written beside the destination, renamed over it once checked: a failed download leaves the old file.
      const partial = `${file}.bbs-${randomBytes(4).toString('hex')}.partial`;
      const { body } = await downloadStream(blob.url, signal);
      const reader = new BlockReader(body);
      const served = createHash('sha256');
      let servedBytes = 0;
      try {
        const stock = await runOnStock(
          ctx,
          stockWorker,
          'download_file',
          {
            workdir: path.dirname(file),
            workerdest: path.basename(partial),
            path: partial,
            reader: null,
            maxsize: null,
            blocksize: STOCK_BLOCK_BYTES,
            mode: mode ?? null,
          },
          async (op, message) => {
            if (op === 'update_read_file') {
              const length = Number(message.length);
              if (!Number.isInteger(length) || length <= 0)
                throw new Error(`update_read_file of ${String(message.length)} bytes`);
              const block = await reader.read(length);
              served.update(block);
              servedBytes += block.length;
              return block;
            }
            if (op === 'update_read_file_close') return null;
            throw new Error(`${op} is not an op of download_file`);
          },
        );
        onInterrupt(stock.interrupt);
        const outcome = await stock.outcome;
        if (signal.aborted) throw new Error('interrupted');
        if (outcome.rc !== 0 || outcome.failure !== null) {
          ctx.send({ header: ourHeader(name, outcome.stderr || (outcome.failure ?? ''), shown) });
          return ctx.send({ rc: 1 });
        }
        if (servedBytes !== blob.size) throw new Error(`the blob gave ${servedBytes} bytes of ${blob.size}`);
        const written = await fileSum(partial);
        const sha256 = served.digest('hex');
        if (written.size !== blob.size || written.sha256 !== sha256)
          throw new Error(
            `buildbot-worker wrote ${written.size} bytes (sha256 ${written.sha256}) where ${blob.size} (sha256 ${sha256}) were served`,
          );
        await rename(partial, file);
        ctx.send({ rc: 0 });
      } finally {
        reader.destroy();
        // ENOTDIR too (a file where the directory should be): there is nothing to remove then.
        await rm(partial, { force: true }).catch(() => undefined);
      }
    };
  });
}

/** uploadFile, uploadDirectory and downloadFile, under Buildbot's names and the snake_case ones. */
export function stockTransferCommands(master: MsgpackMaster): WorkerCommand[] {
  return [
    stockUpload('uploadFile', master, false),
    stockUpload('upload_file', master, false),
    stockUpload('uploadDirectory', master, true),
    stockUpload('upload_directory', master, true),
    stockDownload('downloadFile', master),
    stockDownload('download_file', master),
  ];
}
