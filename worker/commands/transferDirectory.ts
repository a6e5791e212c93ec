// Buildbot's uploadDirectory (and upload_directory): a directory as a tar, optionally gz or bz2, streamed to an artifact.
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { uploadArtifact } from '../../shared/artifacts/calls.ts';
import { CommandStartError } from '../errors.ts';
import { realPathInside } from '../paths.ts';
import { optionalStringArg } from './args.ts';
import { tarDirectory } from './tarWriter.ts';
import { artifactNameArg, connectionOf, fileArg, maxsizeArg, transferCommand } from './transfer.ts';
import type { WorkerCommand } from './types.ts';

/**
 * Buildbot's WorkerDirectoryUploadCommand: `workdir`/`workersrc` as a tar (tarWriter.ts), compressed as
 * `compress` says (null, 'gz' or 'bz2'), streamed into the artifact `<basename>.tar[.gz|.bz2]` as it is made:
 * nothing is written to disk, and memory holds a few parts. `maxsize` counts the bytes sent (compressed),
 * as Buildbot's does; over it the transfer stops, "Maximum filesize reached, truncating file" and rc 1,
 * nothing kept. bz2 runs the machine's `bzip2` (node has none built in): without it, a start_error.
 */
const COMPRESSIONS = { gz: '.gz', bz2: '.bz2' } as const;
type Compression = keyof typeof COMPRESSIONS;

function compressionArg(className: string, args: Record<string, unknown>): Compression | undefined {
  const value = optionalStringArg(className, args, 'compress');
  if (value === undefined) return undefined;
  if (value !== 'gz' && value !== 'bz2')
    throw new CommandStartError(`${className}: 'compress' must be null, 'gz' or 'bz2', got '${value}'`, {
      details: { arg: 'compress' },
    });
  return value;
}

/** The tar through gzip or bzip2, or as it is. */
function compressed(
  tar: Readable,
  compression: Compression | undefined,
): { stream: Readable; done: Promise<void> } {
  if (compression === undefined) return { stream: tar, done: Promise.resolve() };
  if (compression === 'gz') {
    const gzip = createGzip();
    return { stream: gzip, done: pipeline(tar, gzip) };
  }
  const bzip2 = spawn('bzip2', ['-c'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const exited = new Promise<void>((resolve, reject) => {
    bzip2.once('error', reject);
    bzip2.once('close', (code) =>
      code === 0 || code === null ? resolve() : reject(new Error(`bzip2 exited ${code}`)),
    );
  });
  // Piped at once: Node resumes (and so discards) a child's stdout that nobody reads when the child exits, and a
  // small directory's bzip2 exits before the artifact upload has started reading: an empty artifact, rc 0.
  const out = bzip2.stdout.pipe(new PassThrough());
  return {
    stream: out,
    done: Promise.all([pipeline(tar, bzip2.stdin), exited]).then(() => undefined),
  };
}

function uploadDirectory(name: string): WorkerCommand {
  const className = 'WorkerDirectoryUploadCommand';
  return transferCommand(name, async (ctx) => {
    const { shown, joined } = fileArg(className, ctx.args, 'workersrc');
    const maxsize = maxsizeArg(className, ctx.args);
    const compression = compressionArg(className, ctx.args);
    const dir = await realPathInside(ctx.basedir, 'workersrc', joined, { followLast: true });
    const suffix = `.tar${compression ? COMPRESSIONS[compression] : ''}`;
    const artifact = artifactNameArg(className, ctx.args, joined, suffix);
    const connection = connectionOf(ctx, className);
    return async (signal) => {
      const info = await lstat(dir).catch(() => undefined);
      if (!info?.isDirectory()) {
        ctx.send({ header: `Cannot read directory '${shown}' for upload\n` });
        ctx.send({ rc: 1 });
        return;
      }
      const tar = Readable.from(tarDirectory(dir));
      const { stream, done } = compressed(tar, compression);
      // A failure of the compressor shows in the upload (its stream ends short or errors); this one is read
      // so it is never an unhandled rejection.
      const compressing = done.catch((error: unknown) => error);
      try {
        const result = await uploadArtifact(connection, ctx.commandId, artifact, stream, {
          signal,
          ...(maxsize !== undefined ? { maxBytes: maxsize } : {}),
        });
        if (result.exceeded) {
          ctx.send({ header: `Maximum filesize reached, truncating file '${shown}'\n` });
          ctx.send({ rc: 1 });
          return;
        }
        const failed = await compressing;
        if (failed) throw failed;
        ctx.send({ rc: 0 });
      } finally {
        tar.destroy();
        stream.destroy();
      }
    };
  });
}

export const uploadDirectoryCommand = uploadDirectory('uploadDirectory');
export const uploadDirectorySnakeCommand = uploadDirectory('upload_directory');
