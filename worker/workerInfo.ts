// Owns what the worker reports of itself (Buildbot's getWorkerInfo, worker/buildbot_worker/base.py), bounded, no environment.
import { open, readFile, readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as LIMITS from '../shared/limits.ts';
import type { WorkerInfo } from '../shared/workers/types.ts';

/**
 * The version each command reports, as Buildbot's worker reports its `command_version` for every command
 * (worker/buildbot_worker/commands/base.py). A master reads it with workerVersionIsOlderThan to choose the
 * arguments it sends (uploadFile's `workersrc` from 3.0 on, rmdir's list of dirs from 2.14): these commands
 * take Buildbot 3's arguments, so they say 3.3. @default '3.3'
 */
export const COMMAND_VERSION = '3.3';

/** Where Buildbot reads the os_* entries. */
export const OS_RELEASE_FILE = '/etc/os-release';

export interface WorkerInfoSource {
  basedir: string;
  version: string;
  /** The registered command names. */
  commands: Iterable<string>;
  /** @default OS_RELEASE_FILE */
  osReleaseFile?: string;
}

/**
 * Reads the worker info as Buildbot's remote_getWorkerInfo does, less `environ` (it may hold secrets) and
 * `delete_leftover_dirs` (no builders here): every regular file of `<basedir>/info/` as text (symlinks are
 * followed, as os.path.isfile does; a file that is not UTF-8 is left out, as Buildbot logs and skips it), the
 * os-release entries, os.name, the CPU count, the base directory, the version and each command's version.
 *
 * Bounded to what the heartbeat schema takes (shared/limits.ts): at most workerInfoFiles files, the first by
 * name, each cut at workerInfoValueLength characters; then files are left out from the last until the whole
 * is within workerInfoBytes of JSON.
 */
export async function readWorkerInfo(source: WorkerInfoSource): Promise<WorkerInfo> {
  const basedir = path.resolve(source.basedir);
  const info: WorkerInfo = {
    system: process.platform === 'win32' ? 'nt' : 'posix',
    platform: `${process.platform} ${os.release()} ${process.arch}`.slice(0, LIMITS.workerInfoNameLength),
    numcpus: Math.max(os.cpus().length, 1),
    basedir: basedir.slice(0, LIMITS.workerInfoValueLength),
    version: source.version.slice(0, LIMITS.workerVersionLength),
    commandVersions: Object.fromEntries(
      [...source.commands].slice(0, LIMITS.registeredCommands).map((name) => [name, COMMAND_VERSION]),
    ),
    files: await readInfoFiles(path.join(basedir, 'info')),
    osRelease: await readOsRelease(source.osReleaseFile ?? OS_RELEASE_FILE),
  };
  const names = Object.keys(info.files);
  while (names.length > 0 && Buffer.byteLength(JSON.stringify(info), 'utf8') > LIMITS.workerInfoBytes)
    delete info.files[names.pop() as string];
  return info;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Names that would be refused as keys (prototype keys), or that the schema cannot hold. */
function usableName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= LIMITS.workerInfoNameLength &&
    name !== '__proto__' &&
    name !== 'constructor' &&
    name !== 'prototype'
  );
}

async function readInfoFiles(dir: string): Promise<Record<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(usableName).sort();
  } catch {
    return {}; // no info/ directory: Buildbot sends no files either
  }
  const files: Record<string, string> = {};
  for (const name of names) {
    if (Object.keys(files).length >= LIMITS.workerInfoFiles) break;
    const file = path.join(dir, name);
    try {
      if (!(await stat(file)).isFile()) continue;
      // Read no more than the schema can take: 4 bytes a character at most.
      const bytes = await readHead(file, LIMITS.workerInfoValueLength * 4);
      files[name] = cutAtCharacters(utf8.decode(bytes), LIMITS.workerInfoValueLength);
    } catch {
      continue; // unreadable, gone meanwhile, or not UTF-8
    }
  }
  return files;
}

/**
 * The first `limit` bytes of a file (a huge file costs no more), without the cut leaving half a UTF-8
 * character for the decoder to refuse.
 */
async function readHead(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    const { bytesRead } = await handle.read({ buffer, position: 0 });
    if (bytesRead <= limit) return buffer.subarray(0, bytesRead);
    let end = limit;
    // Step back over continuation bytes (10xxxxxx) to the start of the character that was cut.
    while (end > 0 && ((buffer[end] as number) & 0xc0) === 0x80) end -= 1;
    return buffer.subarray(0, end);
  } finally {
    await handle.close();
  }
}

/** The first `limit` UTF-16 units (what the schema counts), never half a surrogate pair. */
function cutAtCharacters(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(limit - 1)) ? limit - 1 : limit;
  return text.slice(0, end);
}

/** Buildbot's _read_os_release: `KEY=value` lines, `#` comments, quotes stripped, empty values left out. */
async function readOsRelease(file: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return {};
  }
  const entries: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    if (Object.keys(entries).length >= LIMITS.workerInfoFiles) break;
    const line = raw.replace(/\r$/, '');
    const eq = line.indexOf('=');
    if (line === '' || line.startsWith('#') || eq <= 0) continue;
    const key = line.slice(0, eq).toLowerCase();
    const value = line
      .slice(eq + 1)
      .replace(/^"|"$/g, '')
      .slice(0, LIMITS.workerInfoValueLength);
    if (value !== '' && usableName(key)) entries[key] = value;
  }
  return entries;
}
