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
}

function writer(stream: NodeJS.WritableStream): (text: string) => Promise<void> {
  return (text) =>
    new Promise((resolve, reject) => {
      stream.write(text, (error) => (error ? reject(error) : resolve()));
    });
}

export function processIo(): Io {
  return {
    env: process.env,
    writeOut: writer(process.stdout),
    writeErr: writer(process.stderr),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
}
