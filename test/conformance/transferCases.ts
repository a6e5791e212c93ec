// The conformance cases of the transfers: uploadFile, uploadDirectory (plain, gz, bz2) and downloadFile, with their edges.
import type { ConformanceCase } from './harness.ts';

/**
 * As in cases.ts, each case works in a directory of its own named after it, made by `setup` with commands (never
 * random), so both engines' basedirs hold the same bytes.
 */
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
export const TRANSFER_CASES: ConformanceCase[] = [
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
