// Owns the stdio streams of a text run or text batch, and `parts`: which stream each update's text is and where it ends.
import { MalformedPartsError } from './errors.ts';
import type { CommandUpdate } from './wire.ts';

/** The streams of Buildbot's stdio log: the updates a text run holds. */
export const TEXT_STREAMS = ['stdout', 'stderr', 'header'] as const;
export type TextStream = (typeof TEXT_STREAMS)[number];

/** The stream and text of a single-stream stdio update (`{stdout: "..."}`), else undefined. */
export function textOf(update: CommandUpdate): { stream: TextStream; text: string } | undefined {
  let found: { stream: TextStream; text: string } | undefined;
  for (const key in update) {
    if (found !== undefined || !(TEXT_STREAMS as readonly string[]).includes(key)) return undefined;
    const text = update[key as TextStream];
    if (typeof text !== 'string') return undefined;
    found = { stream: key as TextStream, text };
  }
  return found;
}

/** One update's place in a text run: its stream and the UTF-8 bytes of its text. */
export interface TextPart {
  stream: TextStream;
  bytes: number;
}

const STREAM_CODES: Record<TextStream, string> = { stdout: 'o', stderr: 'e', header: 'h' };
const CODE_STREAMS: Record<string, TextStream> = { o: 'stdout', e: 'stderr', h: 'header' };

/** `parts` as stored: one `<stream code><bytes>` per update in seq order, e.g. "h812,o65536,e12". */
export function encodeParts(parts: TextPart[]): string {
  return parts.map((part) => `${STREAM_CODES[part.stream]}${part.bytes}`).join(',');
}

export function decodeParts(parts: string): TextPart[] {
  return parts.split(',').map((entry) => {
    const stream = CODE_STREAMS[entry[0] ?? ''];
    const bytes = Number(entry.slice(1));
    if (stream === undefined || entry.length < 2 || !Number.isInteger(bytes) || bytes < 0)
      throw new MalformedPartsError(entry);
    return { stream, bytes };
  });
}
