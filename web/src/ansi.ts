// Owns ANSI colour rendering: a small SGR parser that turns terminal text into styled runs (no HTML strings).
/**
 * Enough of ECMA-48's SGR (`ESC [ ... m`) for build logs: bold, dim, italic, underline, the 8/16 colours,
 * 256-colour and 24-bit colours, foreground and background, and their resets. Other escape sequences (cursor
 * moves, OSC titles) are dropped. The runs are rendered as text nodes with styles, never as HTML, so a log cannot
 * inject markup. Hand-written rather than ansi_up: about 1 KB minified against ansi_up's ~7 KB, and it yields
 * runs for the renderer instead of an HTML string that would need escaping trust.
 */
export interface AnsiStyle {
  fg?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
}

export interface AnsiRun {
  text: string;
  style: AnsiStyle;
}

/** xterm's default palette for the 16 basic colours. */
const BASIC = [
  '#000000',
  '#cd3131',
  '#0dbc79',
  '#e5e510',
  '#2472c8',
  '#bc3fbc',
  '#11a8cd',
  '#e5e5e5',
  '#666666',
  '#f14c4c',
  '#23d18b',
  '#f5f543',
  '#3b8eea',
  '#d670d6',
  '#29b8db',
  '#ffffff',
];

function color256(n: number): string | undefined {
  if (n < 0 || n > 255) return undefined;
  if (n < 16) return BASIC[n];
  if (n >= 232) {
    const level = 8 + (n - 232) * 10;
    return `rgb(${level},${level},${level})`;
  }
  const cube = n - 16;
  const step = (v: number) => (v === 0 ? 0 : 55 + v * 40);
  return `rgb(${step(Math.floor(cube / 36))},${step(Math.floor(cube / 6) % 6)},${step(cube % 6)})`;
}

/** Applies one SGR parameter list to `style` (a copy is returned). */
export function applySgr(style: AnsiStyle, params: number[]): AnsiStyle {
  const next: AnsiStyle = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i] ?? 0;
    if (p === 0) for (const key of Object.keys(next)) delete next[key as keyof AnsiStyle];
    else if (p === 1) next.bold = true;
    else if (p === 2) next.dim = true;
    else if (p === 3) next.italic = true;
    else if (p === 4) next.underline = true;
    else if (p === 22) {
      delete next.bold;
      delete next.dim;
    } else if (p === 23) delete next.italic;
    else if (p === 24) delete next.underline;
    else if (p >= 30 && p <= 37) next.fg = BASIC[p - 30];
    else if (p >= 90 && p <= 97) next.fg = BASIC[p - 90 + 8];
    else if (p === 39) delete next.fg;
    else if (p >= 40 && p <= 47) next.bg = BASIC[p - 40];
    else if (p >= 100 && p <= 107) next.bg = BASIC[p - 100 + 8];
    else if (p === 49) delete next.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? 'fg' : 'bg';
      let value: string | undefined;
      if (params[i + 1] === 5) {
        value = color256(params[i + 2] ?? -1);
        i += 2;
      } else if (params[i + 1] === 2) {
        const [r, g, b] = [params[i + 2], params[i + 3], params[i + 4]].map((x) => Math.min(255, x ?? 0));
        value = `rgb(${r},${g},${b})`;
        i += 4;
      }
      if (value !== undefined) next[key] = value;
    }
  }
  return next;
}

// CSI sequences (ESC [ params final), OSC (ESC ] ... BEL or ESC \), and lone two-byte escapes.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\x1b\[([0-9;?]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * Splits `text` into styled runs, starting from `style` (the state the previous chunk left), and returns the
 * style it ends in, so a colour opened in one update carries into the next.
 */
export function parseAnsi(text: string, style: AnsiStyle = {}): { runs: AnsiRun[]; style: AnsiStyle } {
  const runs: AnsiRun[] = [];
  let last = 0;
  let current = style;
  for (const match of text.matchAll(ESCAPE)) {
    const index = match.index ?? 0;
    if (index > last) runs.push({ text: text.slice(last, index), style: current });
    last = index + match[0].length;
    if (match[2] === 'm')
      current = applySgr(
        current,
        (match[1] ?? '')
          .split(';')
          .filter((part) => part !== '')
          .map(Number),
      );
  }
  if (last < text.length) runs.push({ text: text.slice(last), style: current });
  return { runs, style: current };
}

/** The inline CSS of a run's style. */
export function cssOf(style: AnsiStyle): Record<string, string> {
  const css: Record<string, string> = {};
  if (style.fg) css.color = style.fg;
  if (style.bg) css.backgroundColor = style.bg;
  if (style.bold) css.fontWeight = 'bold';
  if (style.dim) css.opacity = '0.7';
  if (style.italic) css.fontStyle = 'italic';
  if (style.underline) css.textDecoration = 'underline';
  return css;
}
