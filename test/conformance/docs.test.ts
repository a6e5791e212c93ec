// docs/conformance.md holds the table of differences the suite accepts, exactly as differences.ts lists them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { TABLE_END, TABLE_START, renderDifferences } from './render.ts';

it('docs/conformance.md lists every accepted difference with its reason', () => {
  // Prepare
  const doc = readFileSync(new URL('../../docs/conformance.md', import.meta.url), 'utf8');

  // Act
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);

  // Assess
  assert.ok(start >= 0 && end > start, `docs/conformance.md has no ${TABLE_START} ... ${TABLE_END} block`);
  // Prettier may pad a table's cells: compare with runs of spaces and dashes squeezed.
  const squeezed = (text: string): string => text.replace(/ +/g, ' ').replace(/-{3,}/g, '---');
  assert.equal(
    squeezed(doc.slice(start, end + TABLE_END.length)),
    squeezed(renderDifferences()),
    'docs/conformance.md is out of date: paste renderDifferences() (node --import tsx -e "...") between its markers',
  );
});
