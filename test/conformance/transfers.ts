// What the conformance suite observes of a transfer: the artifacts (bytes checked against their recorded sha256), a tar's contents, a written file.
import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { downloadArtifact, uploadBlob } from '../../shared/artifacts/calls.ts';
import { listArtifacts } from '../support/api.ts';
import { collector, once, sha256 } from '../support/bytes.ts';
import type { TestStack } from '../support/stack.ts';

/**
 * An artifact as the suite compares it. A file's artifact by its size and sha256: the same file gives the same
 * bytes on either engine. A tar (uploadDirectory) by what it unpacks to: Python's tarfile and our tarWriter
 * write different headers (mtimes, owner names, the root entry), so their bytes differ while what they hold
 * must not. Either way the engine's recorded size and sha256 are checked against the bytes first: a
 * mismatch throws, whatever the other engine did.
 */
export interface ArtifactObservation {
  name: string;
  size?: number;
  sha256?: string;
  /** A tar's entries, sorted: `d NAME mode`, `f NAME mode sha256`, `l NAME -> TARGET`. */
  entries?: string[];
}

/** The case's args with `blob` set to a new blob of `bytes`, when the case has bytes for one. */
export async function withBlob(
  stack: TestStack,
  args: Record<string, unknown>,
  bytes: Buffer | undefined,
): Promise<Record<string, unknown>> {
  if (!bytes) return args;
  const client = { apiUrl: stack.apiUrl, token: stack.tokens.client };
  const { blobId } = await uploadBlob(client, once(bytes), bytes.length);
  return { ...args, blob: blobId };
}

/** What a tar unpacks to, by GNU tar (it reads gz and bz2 by itself, and drops the leading '/' of 3.7's root entry). */
async function tarEntries(bytes: Buffer): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bbs-conformance-tar-'));
  try {
    const file = path.join(dir, 'artifact');
    const into = path.join(dir, 'x');
    await writeFile(file, bytes);
    try {
      execFileSync('sh', ['-c', `mkdir "$2" && tar -xf "$1" -C "$2"`, 'sh', file, into], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
    } catch (error) {
      const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
      throw new Error(
        `tar could not unpack ${bytes.length} bytes (${bytes.subarray(0, 4).toString('hex')}...): ${stderr}`,
        { cause: error },
      );
    }
    const entries: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      for (const name of (await readdir(path.join(into, relative))).sort()) {
        const rel = path.join(relative, name);
        const full = path.join(into, rel);
        const info = await lstat(full);
        const mode = (info.mode & 0o777).toString(8);
        if (info.isSymbolicLink()) entries.push(`l ${rel} -> ${await readlink(full)}`);
        else if (info.isDirectory()) {
          entries.push(`d ${rel} ${mode}`);
          await walk(rel);
        } else entries.push(`f ${rel} ${mode} ${sha256(await readFile(full))}`);
      }
    };
    await walk('');
    return entries.sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function artifactObservation(
  stack: TestStack,
  commandId: string,
): Promise<ArtifactObservation[]> {
  const client = { apiUrl: stack.apiUrl, token: stack.tokens.client };
  const out: ArtifactObservation[] = [];
  for (const artifact of await listArtifacts(stack, commandId)) {
    // downloadArtifact checks the bytes against the recorded size and sha256 (ChecksumMismatchError).
    const sink = collector();
    await downloadArtifact(client, commandId, artifact.name, sink);
    const bytes = sink.bytes();
    out.push(
      /\.tar(\.gz|\.bz2)?$/.test(artifact.name)
        ? { name: artifact.name, entries: await tarEntries(bytes) }
        : { name: artifact.name, size: artifact.size, sha256: artifact.sha256 },
    );
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** [mode, size, sha256] of a file, or null when there is none. */
export async function fileObservation(file: string): Promise<[number, number, string] | null> {
  const info = await stat(file).catch(() => undefined);
  if (!info) return null;
  return [info.mode & 0o777, info.size, sha256(await readFile(file))];
}
