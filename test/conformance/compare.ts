// Compares one field of the two engines' observations, accepting only the differences differences.ts lists.
import { DIFFERENCES } from './differences.ts';
import type { KnownDifference } from './differences.ts';
import type { Observation } from './harness.ts';

export interface FieldVerdict {
  /** True when the field agrees, or differs only as listed. */
  accepted: boolean;
  /** The listed differences that this field showed. */
  used: KnownDifference[];
}

/** A difference's `case`: a case's name, '*' for every case, or a prefix ending in '*' ('upload-*'). */
export function matchesCase(pattern: string, kase: string): boolean {
  if (pattern === '*' || pattern === kase) return true;
  return pattern.endsWith('*') && kase.startsWith(pattern.slice(0, -1));
}

function applies(d: KnownDifference, kase: string, field: string): boolean {
  return matchesCase(d.case, kase) && d.field === field;
}

export function compareField(
  kase: string,
  field: keyof Observation,
  ours: Observation[keyof Observation],
  stock: Observation[keyof Observation],
): FieldVerdict {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  if (same(ours, stock)) return { accepted: true, used: [] };
  const entries = DIFFERENCES.filter((d) => applies(d, kase, field));
  const used: KnownDifference[] = [];
  let a = ours;
  let b = stock;
  for (const d of entries) {
    if (!d.rewrite || typeof a !== 'string' || typeof b !== 'string') continue;
    const { side, pattern, replacement } = d.rewrite;
    const a2 = side === 'stock' ? a : a.replace(pattern, replacement);
    const b2 = side === 'ours' ? b : b.replace(pattern, replacement);
    // A rewrite is used when it takes away part of the difference: for 'both', when the parts it matched
    // differed; for one side, when it changed that side.
    const matched = (text: string): string[] =>
      [...text.matchAll(new RegExp(pattern, 'gm'))].map((m) => m[0]);
    const changed = side === 'both' ? !same(matched(a), matched(b)) : a2 !== a || b2 !== b;
    if (changed) used.push(d);
    a = a2;
    b = b2;
  }
  if (same(a, b)) return { accepted: true, used };
  const whole = entries.find((d) => !d.rewrite);
  return whole ? { accepted: true, used: [...used, whole] } : { accepted: false, used };
}
