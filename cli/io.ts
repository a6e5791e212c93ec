// Owns what bbs touches outside itself: the environment, stdout and stderr, Ctrl-C and piped stdin.
import { EXIT } from './exitCodes.ts';

/**
 * What a subcommand touches outside itself, so main() can be driven by a test or by the real process.
 * Writes resolve once the text is handed to the stream (back-pressure on a slow pipe).
 */
export interface Io {
  env: NodeJS.ProcessEnv;
  writeOut(text: string): Promise<void>;
  writeErr(text: string): Promise<void>;
  /** Calls `handler` on each Ctrl-C (SIGINT); returns the function that removes it. */
  onInterrupt(handler: () => void): () => void;
  /**
   * Piped stdin, read to its end but no further than `maxBytes + 1` bytes (so a caller can tell "too much");
   * undefined when stdin is a terminal, which is never read.
   */
  readStdin(maxBytes: number): Promise<Buffer | undefined>;
}

function writer(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  return (text) =>
    new Promise((resolve, reject) => {
      stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
}

export function processIo(): Io {
  // A reader that goes away (`bbs logs ID | head`) ends bbs quietly, as SIGPIPE ends a shell tool, rather than
  // with an unhandled EPIPE: nothing more can be said on a closed stdout. The remote command is not touched.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT.brokenPipe);
  });
  return {
    env: process.env,
    writeOut: writer(process.stdout),
    writeErr: writer(process.stderr),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    readStdin: (maxBytes) => readUpTo(process.stdin, maxBytes),
  };
}

async function readUpTo(stdin: NodeJS.ReadStream, maxBytes: number): Promise<Buffer | undefined> {
  if (stdin.isTTY) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > maxBytes) break; // enough to refuse; the rest stays unread
  }
  return Buffer.concat(chunks);
}
