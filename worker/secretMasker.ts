// Owns masking a command's secret values as `<NAME>` in every update before it leaves the worker, across chunk edges.
import type { CommandUpdate } from '../shared/commands/wire.ts';

/**
 * Every secret value is replaced by `<NAME>` in stdout, stderr, headers and logfile text before an update
 * is handed to the sender (docs/security.md). A value can arrive split across two reads of a pipe, or two
 * updates: each stream keeps back the end of its text that could be the start of a value, and sends it
 * with the stream's next text, or, masked as far as it goes, before any update that is not text (rc,
 * elapsed, files), so nothing is held past the command's end. Only such a possible start is held (a few
 * characters, and only when they match one), so output is not delayed otherwise.
 *
 * Values are matched as they are written: a value that a program prints transformed (quoted with escapes,
 * base64, split by a line wrap) is not found. The longest values are replaced first, so a value inside
 * another is not left half-masked.
 */
export class SecretMasker {
  /** [value, mask], longest value first. */
  private readonly values: [string, string][];
  /** Held text by stream: 'stdout', 'stderr', 'header', or 'log:<name>'. */
  private readonly held = new Map<string, string>();

  constructor(secrets: Readonly<Record<string, string>>) {
    this.values = Object.entries(secrets)
      .filter(([, value]) => value !== '')
      .map(([name, value]): [string, string] => [value, `<${name}>`])
      .sort(([a], [b]) => b.length - a.length);
  }

  get active(): boolean {
    return this.values.length > 0;
  }

  /**
   * The updates to send for `update`. Text alone is masked with the end that could begin a value held back;
   * an update with anything else (rc, elapsed, files) first has everything held sent, and its own text
   * masked whole.
   */
  mask(update: CommandUpdate): CommandUpdate[] {
    if (!this.active) return [update];
    const texts = textsOf(update);
    if (texts.length === 0) return [...this.flush(), update];
    const onlyText = Object.keys(update).every((key) => (TEXT_KEYS as readonly string[]).includes(key));
    const out: CommandUpdate = { ...update };
    for (const [stream, chunk] of texts) {
      let masked: string;
      if (onlyText) masked = this.take(stream, chunk);
      else {
        masked = this.replace((this.held.get(stream) ?? '') + chunk);
        this.held.delete(stream);
      }
      setText(out, stream, masked);
    }
    const before = onlyText ? [] : this.flush();
    return Object.keys(out).length === 0 ? before : [...before, out];
  }

  /** What every stream still holds, masked (as far as it goes) and sent as updates of their own. */
  flush(): CommandUpdate[] {
    const out: CommandUpdate[] = [];
    for (const [stream, rest] of this.held)
      if (rest !== '') out.push(withText({}, stream, this.replace(rest)));
    this.held.clear();
    return out;
  }

  /** Masks `chunk` after what `stream` held, and holds back an end that could begin a value. */
  private take(stream: string, chunk: string): string {
    const text = this.replace((this.held.get(stream) ?? '') + chunk);
    const keep = this.possibleStart(text);
    this.held.set(stream, text.slice(text.length - keep));
    return text.slice(0, text.length - keep);
  }

  /** A message masked whole (a failure message, a log line). */
  maskText(text: string): string {
    return this.active ? this.replace(text) : text;
  }

  private replace(text: string): string {
    let out = text;
    for (const [value, mask] of this.values) if (out.includes(value)) out = out.split(value).join(mask);
    return out;
  }

  /** The length of the longest end of `text` that is a proper start of some value. */
  private possibleStart(text: string): number {
    let best = 0;
    for (const [value] of this.values) {
      const first = value[0]!;
      // Only ends that start with the value's first character can match; look from the longest.
      for (let i = Math.max(0, text.length - value.length + 1); i < text.length; i++) {
        if (text.length - i <= best) break;
        if (text[i] === first && value.startsWith(text.slice(i))) {
          best = text.length - i;
          break;
        }
      }
    }
    return best;
  }
}

const TEXT_KEYS = ['stdout', 'stderr', 'header', 'log'] as const;

/** The update's text fields as [stream, text]: 'stdout', 'stderr', 'header', or 'log:<name>'. */
function textsOf(update: CommandUpdate): [string, string][] {
  const texts: [string, string][] = [];
  for (const key of ['stdout', 'stderr', 'header'] as const) {
    const text = update[key];
    if (text !== undefined) texts.push([key, text]);
  }
  if (update.log !== undefined) texts.push([`log:${update.log[0]}`, update.log[1]]);
  return texts;
}

/** Sets (or, when empty, drops) a stream's text on `update`. */
function setText(update: CommandUpdate, stream: string, text: string): void {
  if (stream.startsWith('log:')) {
    if (text === '') delete update.log;
    else update.log = [stream.slice(4), text];
  } else if (text === '') delete update[stream as 'stdout'];
  else update[stream as 'stdout'] = text;
}

function withText(update: CommandUpdate, stream: string, text: string): CommandUpdate {
  const out = { ...update };
  setText(out, stream, text);
  return out;
}
