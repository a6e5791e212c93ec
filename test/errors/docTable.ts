// Reads the one table of docs/errors.md (| code | HTTP | when | body fields | what to do next |) for the error tests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface DocRow {
  code: string;
  /** The HTTP status, or undefined for `—` (an error that never answers HTTP). */
  status: number | undefined;
  fields: string[];
}

export const ERRORS_DOC = fileURLToPath(new URL('../../docs/errors.md', import.meta.url));

export function docRows(): Map<string, DocRow> {
  const rows = new Map<string, DocRow>();
  for (const line of readFileSync(ERRORS_DOC, 'utf8').split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const code = /^`([a-z0-9_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!line.startsWith('| `') || code === undefined) continue;
    assert.ok(!rows.has(code), `docs/errors.md lists ${code} twice`);
    const status = cells[2] === '—' ? undefined : Number(cells[2]);
    assert.ok(status === undefined || Number.isInteger(status), `${code}: HTTP column '${cells[2]}'`);
    const fields = cells[4] === '—' ? [] : [...(cells[4] ?? '').matchAll(/`([A-Za-z]+)`/g)].map((m) => m[1]!);
    rows.set(code, { code, status, fields });
  }
  return rows;
}
