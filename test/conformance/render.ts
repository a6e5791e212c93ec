// Renders differences.ts as the Markdown table docs/conformance.md holds between its markers.
import { DIFFERENCES } from './differences.ts';

export const TABLE_START = '<!-- differences:start (rendered from test/conformance/differences.ts) -->';
export const TABLE_END = '<!-- differences:end -->';

const KIND_TEXT = { ours: 'ours (to fix)', choice: 'choice', stock: 'buildbot-worker 3.7' } as const;

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderDifferences(): string {
  const rows = DIFFERENCES.map(
    (d) =>
      `| ${d.case === '*' ? 'every case' : `\`${d.case}\``} | ${d.field} | ${KIND_TEXT[d.kind]} | ${cell(d.reason)} |`,
  );
  return [
    TABLE_START,
    '| Case | Field | Whose | Reason |',
    '| --- | --- | --- | --- |',
    ...rows,
    TABLE_END,
  ].join('\n');
}
