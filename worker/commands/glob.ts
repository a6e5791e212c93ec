// Python's glob.glob(pattern, recursive=True), for the glob command (Node 20 has no fs.glob).
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Python's glob.glob(pattern, recursive=True) for an absolute pattern: `*`, `?`, `[...]` within one
 * name, `**` for any number of directories; names starting with '.' match only a pattern that starts
 * with '.'. Kept here because Node 20 has no fs.glob. Results are sorted (Python's order is the
 * directory's, which is arbitrary).
 */
const MAGIC = /[*?[]/;

export function fnmatchToRegExp(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 2);
      if (close === -1) {
        source += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, close);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else source += c.replace(/[.+^${}()|\\/\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

async function list(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((entry) => ({ name: entry.name, isDir: entry.isDirectory() }));
  } catch {
    // Not a directory, or gone: it simply matches nothing, as in Python.
    return [];
  }
}

async function descendants(dir: string, includeFiles: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await list(dir)) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDir) out.push(full, ...(await descendants(full, includeFiles)));
    else if (includeFiles) out.push(full);
  }
  return out;
}

export async function glob(absolutePattern: string): Promise<string[]> {
  const segments = absolutePattern.split('/').filter((segment) => segment !== '');
  let current = ['/'];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: string[] = [];
    if (segment === '**') {
      for (const dir of current) next.push(dir, ...(await descendants(dir, last)));
    } else if (MAGIC.test(segment)) {
      const pattern = fnmatchToRegExp(segment);
      for (const dir of current) {
        for (const entry of await list(dir)) {
          if (entry.name.startsWith('.') && !segment.startsWith('.')) continue;
          if (pattern.test(entry.name) && (last || entry.isDir)) next.push(path.join(dir, entry.name));
        }
      }
    } else {
      for (const dir of current) {
        const candidate = path.join(dir, segment);
        if (last ? await exists(candidate) : true) next.push(candidate);
      }
    }
    current = [...new Set(next)];
  }
  return current.sort();
}
