// Owns splitting a stream of text chunks into whole lines, across chunk boundaries (Buildbot's LineBoundaryFinder).

/** Lines longer than this are dropped, as Buildbot's LogLineObserver drops them. @default 16384 characters */
export const DEFAULT_MAX_LINE_LENGTH = 16384;

/** A line ends at `\r\n`, `\n`, or a lone `\r` (a progress bar's redraw), as Buildbot's LineBoundaryFinder reads it. */
const LINE_END = /\r\n|\r|\n/g;

/**
 * Turns chunks of one stream into whole lines, without their line ends. A line that spans chunks comes out
 * once, whole, when its end arrives; flush() gives the unterminated last line at the end of the stream.
 *
 * Memory is bounded by `maxLineLength`: a line that grows past it is dropped (Buildbot's LogLineObserver
 * drops such lines too), and the rest of it is skipped up to its end, so a stream with no newline at all
 * costs at most that many characters.
 */
export class LineSplitter {
  readonly maxLineLength: number;
  /** The start of the line not yet ended. */
  private partial = '';
  /** The last chunk ended in `\r`: the line has ended, but a `\n` opening the next chunk belongs to it. */
  private pendingCR = false;
  /** The line being read is over maxLineLength: drop everything up to its end. */
  private skipping = false;

  constructor(maxLineLength: number = DEFAULT_MAX_LINE_LENGTH) {
    this.maxLineLength = maxLineLength;
  }

  /** The lines that `text` completes, in order. */
  push(text: string): string[] {
    const lines: string[] = [];
    let start = 0;
    if (this.pendingCR) {
      if (text === '') return lines;
      this.pendingCR = false;
      this.end('', lines);
      if (text.startsWith('\n')) start = 1;
    }
    LINE_END.lastIndex = start;
    for (let match = LINE_END.exec(text); match !== null; match = LINE_END.exec(text)) {
      if (match[0] === '\r' && LINE_END.lastIndex === text.length) {
        // `\r` last in the chunk: `\r\n` split between chunks must not make an empty line.
        this.keep(text.slice(start, match.index));
        this.pendingCR = true;
        return lines;
      }
      this.end(text.slice(start, match.index), lines);
      start = LINE_END.lastIndex;
    }
    this.keep(text.slice(start));
    return lines;
  }

  /** The unterminated last line, if there is one (and it was not too long); the splitter starts afresh. */
  flush(): string | undefined {
    const lines: string[] = [];
    if (this.pendingCR || this.partial !== '') this.end('', lines);
    this.pendingCR = false;
    this.skipping = false;
    return lines[0];
  }

  private end(piece: string, lines: string[]): void {
    const line = this.partial + piece;
    this.partial = '';
    if (this.skipping) this.skipping = false;
    else if (line.length <= this.maxLineLength) lines.push(line);
  }

  private keep(piece: string): void {
    if (this.skipping || piece === '') return;
    this.partial += piece;
    if (this.partial.length > this.maxLineLength) {
      this.partial = '';
      this.skipping = true;
    }
  }
}
