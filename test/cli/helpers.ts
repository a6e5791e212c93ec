import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BBS = fileURLToPath(new URL('../../bin/bbs.mjs', import.meta.url));

export interface BbsResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/bbs.mjs ...args` as a real process with exactly `env` (plus PATH), killed after `timeoutMs`. */
export function runBbs(
  args: string[],
  env: Record<string, string | undefined>,
  opts: {
    timeoutMs?: number;
    onStdout?: (text: string, child: ReturnType<typeof spawn>) => void;
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
    /** Piped to the process's stdin (then closed); without it stdin is /dev/null. */
    stdin?: string | Buffer;
  } = {},
): Promise<BbsResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BBS, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.stdin !== undefined) {
      child.stdin!.on('error', () => undefined); // bbs may stop reading once it has too much
      child.stdin!.end(opts.stdin);
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      opts.onStdout?.(stdout, child);
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
