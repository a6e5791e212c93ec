// Owns the docs-examples test's data: the ```sh and ```ts blocks of README.md and docs/*.md, and the checked list of those that cannot run.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Example {
  /** README.md or docs/NAME.md */
  file: string;
  /** The line of the opening fence, 1-based. */
  line: number;
  lang: 'sh' | 'ts';
  code: string;
}

/** Every ```sh and ```ts block, file by file (README.md first, then docs/ by name), in order. */
export function collectExamples(root: string): Example[] {
  const files = [
    'README.md',
    ...readdirSync(path.join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .sort()
      .map((f) => `docs/${f}`),
  ];
  const examples: Example[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(sh|bash|ts|typescript)\s*$/.exec(lines[i]!);
      if (!open) continue;
      const end = lines.findIndex((text, j) => j > i && text.startsWith('```'));
      const lang = open[1] === 'ts' || open[1] === 'typescript' ? 'ts' : 'sh';
      examples.push({ file, line: i + 1, lang, code: lines.slice(i + 1, end).join('\n') });
      i = end;
    }
  }
  return examples;
}

/** An example the test leaves out, found by its file and the start of its first line, and why. */
export interface NotRun {
  file: string;
  startsWith: string;
  why: string;
}

const AWS = 'deploys to, or reads from, a real AWS account';

/**
 * The examples that cannot run against a local stack, each with its reason. An example in neither this list nor
 * the run is a test failure, and so is an entry here that matches no example: a new example is either made to
 * run or added here with a reason.
 */
export const NOT_RUN: NotRun[] = [
  {
    file: 'README.md',
    startsWith: 'npm start',
    why: 'starts the local stack itself: this test runs its own, with the same exports',
  },
  { file: 'README.md', startsWith: 'npm test', why: 'the whole test suite, of which this is one file' },
  { file: 'README.md', startsWith: 'npx osls deploy', why: AWS },
  {
    file: 'docs/artifacts.md',
    startsWith: 'bbs cp w1:',
    why: 'names worker w1 and files in its base directory',
  },
  {
    file: 'docs/cli.md',
    startsWith: 'npm start ',
    why: 'starts the local stack; its export line holds placeholders (PORT, ...) for what npm start prints',
  },
  {
    file: 'docs/cli.md',
    startsWith: 'bbs run -- make -j2 test',
    why: 'builds that need a Makefile, a package.json and worker builder-3',
  },
  { file: 'docs/cli.md', startsWith: 'bbs cp w1:', why: 'names worker w1 and files in its base directory' },
  {
    file: 'docs/cli.md',
    startsWith: '$ bbs status',
    why: 'a transcript (prompt and output) with an example id',
  },
  { file: 'docs/cli.md', startsWith: 'bbs logs 5f0c2a7e', why: 'an example id, and a junit log' },
  {
    file: 'docs/cli.md',
    startsWith: 'curl -s -X POST "$BBS_API_URL/v1/workers"',
    why: 'its second line runs a worker agent in the foreground with a placeholder token',
  },
  { file: 'docs/operations.md', startsWith: 'BBS_ALARM_EMAIL=', why: AWS },
  { file: 'docs/operations.md', startsWith: 'aws ', why: AWS },
  { file: 'docs/operations.md', startsWith: 'export COMMANDS_TABLE=', why: AWS },
  {
    file: 'docs/operations.md',
    startsWith: 'export BBS_API_URL=https://API-ID',
    why: 'a deployed API (its URL is a placeholder); the same commands run from docs/cli.md',
  },
  { file: 'docs/performance.md', startsWith: 'npm run bench', why: 'benchmarks: minutes of both cores' },
];

export function notRunEntry(example: Example): NotRun | undefined {
  const first = example.code.split('\n').find((text) => text.trim() !== '') ?? '';
  return NOT_RUN.find((entry) => entry.file === example.file && first.startsWith(entry.startsWith));
}

/**
 * Declarations the TypeScript examples assume (a value from the text around them), by file: the example is
 * checked as written, below these lines.
 */
export const TS_PRELUDES: Record<string, string> = {
  'docs/artifacts.md': [
    "import { createReadStream, createWriteStream } from 'node:fs';",
    "import { stat } from 'node:fs/promises';",
    "import { CommandsClient } from '../shared/index.ts';",
    'declare const apiUrl: string;',
    'declare const token: string;',
  ].join('\n'),
  'docs/state.md': [
    'declare function randomToken(): string;',
    'declare function createMirror(): Promise<string>;',
  ].join('\n'),
};
