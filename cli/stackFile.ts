// Owns the file through which `bbs` finds the stack `npm start` runs: its place, its writing (0600) and its reading.
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { StackFileDirectoryError } from './errors.ts';
import { dirname, join } from 'node:path';

/**
 * `npm start` writes its API URL and tokens here, readable only by the user (0600, in a 0700 directory), and
 * removes the file when it stops. `bbs` reads it when BBS_API_URL is unset, so a second shell needs no exports.
 * The file holds the local stack's tokens only; they die with that stack (each npm start makes new ones).
 */
export interface StackFile {
  apiUrl: string;
  /** A client token (what BBS_TOKEN would hold). */
  clientToken: string;
  adminToken: string;
  /** The console's sign-in link (the client token in the fragment). */
  consoleUrl: string;
  /** The npm start process: its end removes the file; a file whose process is gone is stale. */
  pid: number;
  startedAt: string;
}

/** $XDG_CONFIG_HOME/buildbot-serverless/local.json, else ~/.config/buildbot-serverless/local.json. */
export function stackFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'buildbot-serverless', 'local.json');
}

/**
 * Written whole, then renamed into place: a reader never sees half a file, nor a mode wider than 0600. The
 * directory must be this user's own real directory (0700 is set on it); the temporary file has a random name
 * and is created exclusively, not following a link, so nothing planted beside it receives the tokens.
 */
export function writeStackFile(file: StackFile, path = stackFilePath()): void {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const stat = lstatSync(directory);
  if (!stat.isDirectory() || (process.getuid !== undefined && stat.uid !== process.getuid()))
    throw new StackFileDirectoryError(
      `${directory} is not a directory of this user's own: not writing tokens there`,
    );
  if ((stat.mode & 0o077) !== 0) chmodSync(directory, 0o700);
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(
    temporary,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    writeSync(fd, `${JSON.stringify(file, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
}

/** Removes the file only if it is still this process's (a later npm start on another port may have replaced it). */
export function removeStackFile(pid = process.pid, path = stackFilePath()): void {
  if (readStackFile(path)?.pid === pid) rmSync(path, { force: true });
}

/** The file's contents, or undefined when there is none (or it is not one of ours). */
export function readStackFile(path = stackFilePath()): StackFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const value = JSON.parse(text) as Partial<StackFile>;
    if (typeof value.apiUrl !== 'string' || typeof value.clientToken !== 'string') return undefined;
    return value as StackFile;
  } catch {
    return undefined;
  }
}
