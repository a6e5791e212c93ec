// A streaming tar writer (POSIX ustar, PAX headers for long names and large files): a directory as bytes, one file at a time.
import { constants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * What uploadDirectory sends, as Buildbot's `tarfile.open(mode='w|')` + `add(path, '')` writes it: the
 * directory's entries by their path inside it (no `./`, the directory itself left out), directories, regular
 * files and symlinks (stored as links, never followed, so nothing outside the directory is read); FIFOs,
 * sockets and devices are skipped, as they carry no content to move. A file is read through O_NOFOLLOW, and
 * exactly the size its header states is written (zeros if it shrank meanwhile, cut if it grew).
 *
 * Memory: one read buffer at a time. Written here rather than taken from the `tar` package: this is the
 * whole of what uploadDirectory needs (~150 lines), and the worker's dependencies stay the SDK's.
 */

const BLOCK = 512;
/** ustar's size field: 11 octal digits. */
const USTAR_MAX_SIZE = 0o77777777777;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A PAX record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return `${length}${body}`;
}

interface Entry {
  name: string;
  /** A file, a symlink, a directory; `x` is the PAX header that precedes an entry. */
  type: '0' | '2' | '5' | 'x';
  size: number;
  mode: number;
  mtime: number;
  linkname?: string;
}

function header(entry: Entry): Buffer {
  const block = Buffer.alloc(BLOCK);
  const write = (text: string, offset: number, width: number): void => {
    block.write(text, offset, Math.min(Buffer.byteLength(text), width), 'utf8');
  };
  write(entry.name, 0, 100);
  write(octal(entry.mode & 0o7777, 8), 100, 8);
  write(octal(0, 8), 108, 8);
  write(octal(0, 8), 116, 8);
  write(octal(Math.min(entry.size, USTAR_MAX_SIZE), 12), 124, 12);
  write(octal(Math.floor(entry.mtime), 12), 136, 12);
  write('        ', 148, 8);
  write(entry.type, 156, 1);
  if (entry.linkname) write(entry.linkname, 157, 100);
  write('ustar\0', 257, 6);
  write('00', 263, 2);
  let sum = 0;
  for (const byte of block) sum += byte;
  write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The entry's headers: a PAX header first when a name, a link or the size does not fit ustar. */
function headers(entry: Entry): Buffer[] {
  const records: string[] = [];
  if (Buffer.byteLength(entry.name) > 99) records.push(paxRecord('path', entry.name));
  if (entry.linkname && Buffer.byteLength(entry.linkname) > 99)
    records.push(paxRecord('linkpath', entry.linkname));
  if (entry.size > USTAR_MAX_SIZE) records.push(paxRecord('size', String(entry.size)));
  if (records.length === 0) return [header(entry)];
  const pax = Buffer.from(records.join(''));
  const paxHeader = header({
    name: 'PaxHeader',
    type: 'x',
    size: pax.length,
    mode: 0o644,
    mtime: entry.mtime,
  });
  return [paxHeader, pax, padding(pax.length), header(entry)];
}

/** Exactly `size` bytes of `file` (not following a link), in chunks. */
async function* content(file: string, size: number): AsyncGenerator<Buffer> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = size;
    const buffer = Buffer.allocUnsafe(1024 * 1024);
    while (left > 0) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, left), null);
      if (bytesRead === 0) break;
      left -= bytesRead;
      yield Buffer.from(buffer.subarray(0, bytesRead));
    }
    if (left > 0) yield Buffer.alloc(left);
  } finally {
    await handle.close();
  }
}

/** The entries under `relative`, in name order, each directory followed by its own. */
async function* walk(root: string, relative: string): AsyncGenerator<Buffer> {
  for (const name of (await readdir(path.join(root, relative))).sort()) {
    const entry = path.posix.join(relative, name);
    const file = path.join(root, entry);
    const info = await lstat(file);
    const base = { mode: info.mode, mtime: info.mtimeMs / 1000 };
    if (info.isDirectory()) {
      yield* headers({ ...base, name: `${entry}/`, type: '5', size: 0 });
      yield* walk(root, entry);
    } else if (info.isSymbolicLink()) {
      yield* headers({ ...base, name: entry, type: '2', size: 0, linkname: await readlink(file) });
    } else if (info.isFile()) {
      yield* headers({ ...base, name: entry, type: '0', size: info.size });
      yield* content(file, info.size);
      yield padding(info.size);
    }
  }
}

/** The tar of `root`'s contents, and the two zero blocks that end an archive. */
export async function* tarDirectory(root: string): AsyncGenerator<Buffer> {
  yield* walk(root, '');
  yield Buffer.alloc(2 * BLOCK);
}
