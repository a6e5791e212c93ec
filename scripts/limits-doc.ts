// Writes docs/limits.md from shared/limits.ts: what each limit bounds, and every limit by name with its @default.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as LIMITS from '../shared/limits.ts';
import { KiB, MiB, rows } from './limitRows.ts';

/**
 * Usage: `npx tsx scripts/limits-doc.ts` rewrites docs/limits.md; `--check` only says whether it is current (exit 1
 * when not). The numbers come from LIMITS and the prose from the rows below, so the doc cannot drift from the code:
 * test/limits.test.ts fails when the file differs from renderLimitsDoc(), when a limit is in no row, or when a
 * limit's `@default` says another value than the code holds.
 */
export const LIMITS_DOC = fileURLToPath(new URL('../docs/limits.md', import.meta.url));
export const LIMITS_SOURCE = fileURLToPath(new URL('../shared/limits.ts', import.meta.url));

type Limits = typeof LIMITS;
/** The name of a limit: an export of shared/limits.ts. */
export type LimitName = keyof Limits;

/** A limit's doc comment in shared/limits.ts: its text, and what its `@default` says. */
export interface LimitComment {
  text: string;
  defaultText?: string;
}

/** The doc comment above each key of LIMITS, read from the source (prettier keeps it in this shape). */
export function limitComments(source = readFileSync(LIMITS_SOURCE, 'utf8')): Map<string, LimitComment> {
  const comments = new Map<string, LimitComment>();
  for (const match of source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*\nexport const (\w+) =/g)) {
    const text = match[1]!
      .split('\n')
      .map((line) => line.replace(/^\s*\*\s?/, '').trim())
      .join(' ')
      .trim();
    const at = text.search(/@default\b/);
    comments.set(
      match[2]!,
      at === -1
        ? { text }
        : { text: text.slice(0, at).trim(), defaultText: text.slice(at + '@default'.length).trim() },
    );
  }
  return comments;
}

const UNITS: Record<string, number> = {
  MiB,
  KiB,
  KB: 1000,
  bytes: 1,
  Ki: KiB,
  s: 1,
  day: 24 * 3600,
  days: 24 * 3600,
};

/** The number a `@default` states: `1 MiB`, `380 KB`, `6,291,556 bytes`, `64 Ki`, `30 days`, `60 s`, `10,000`, `0.7`; NaN when unreadable. */
export function defaultValue(text: string): number {
  const match = /^([\d.,]+)\s*([A-Za-z]+)?$/.exec(text);
  if (!match) return Number.NaN;
  const value = Number(match[1]!.replace(/,/g, ''));
  const unit = match[2];
  if (unit === undefined) return value;
  const scale = UNITS[unit];
  return scale === undefined ? Number.NaN : value * scale;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function table(header: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`.replace(/ {2,}\|/g, ' |');
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...body.map(line)].join('\n');
}

/** docs/limits.md as it should read, and the limits its rows read (to check that none is left out). */
export function renderLimitsDoc(comments = limitComments()): { text: string; read: Set<LimitName> } {
  const read = new Set<LimitName>();
  const tracked = new Proxy(LIMITS, {
    get(target, key: string | symbol) {
      if (typeof key === 'string' && key in target) read.add(key as LimitName);
      return Reflect.get(target, key) as unknown;
    },
  });
  const userRows = rows(tracked).map((row) => [row.what, row.limit, row.answer, row.why]);
  // Source order (a module namespace lists its names alphabetically), then any limit without a doc comment.
  const names = [...new Set([...comments.keys(), ...Object.keys(LIMITS)])].filter((name) => name in LIMITS);
  const byName = names.map((name) => {
    const comment = comments.get(name);
    return [`\`${name}\``, comment?.defaultText ?? '', comment?.text ?? ''];
  });
  const text = `# Limits

<!-- Generated from shared/limits.ts by scripts/limits-doc.ts: edit those, then run \`npx tsx scripts/limits-doc.ts\`.
     test/limits.test.ts fails when this file is not what the script writes. -->

Every limit of a request is enforced at the edge with a 4xx that names it, and nothing is stored on a refusal.

${table(['what', 'limit', 'answer past it', 'why'], userRows)}

## Every limit by name

Each is a key of \`LIMITS\` in \`shared/limits.ts\`, the one place the code reads it from.

${table(['name', 'default', 'what it bounds'], byName)}
`;
  return { text, read };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const { text } = renderLimitsDoc();
  const current = readFileSync(LIMITS_DOC, 'utf8');
  if (process.argv.includes('--check')) {
    if (current !== text) {
      console.error('docs/limits.md is not current: run npx tsx scripts/limits-doc.ts');
      process.exitCode = 1;
    }
  } else if (current !== text) {
    writeFileSync(LIMITS_DOC, text);
    console.log('wrote docs/limits.md');
  }
}
