/** Where the worker writes its progress lines (one per command start and finish, and problems). Never tokens. */
export type WorkerLogSink = (line: string) => void;

export const stderrLogSink: WorkerLogSink = (line) => {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
};
