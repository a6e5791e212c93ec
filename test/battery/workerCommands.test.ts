// The bad-input battery of the worker's commands through a real worker: each bad argument ends as a named failure and no file changes.
import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerWorker, startCommand, waitForCommand } from '../support/api.ts';
import type { RegisteredWorker } from '../support/api.ts';
import { useStack } from '../support/stack.ts';
import type { TestStack } from '../support/stack.ts';
import { spawnWorker, stopWorker } from '../worker/helpers.ts';
import type { WorkerProcess } from '../worker/helpers.ts';

let stack: TestStack;
let worker: RegisteredWorker;
let proc: WorkerProcess;
let outside: string;

before(async () => {
  stack = await useStack();
  worker = await registerWorker(stack, 'battery');
  proc = await spawnWorker(stack, worker);
  // Prepare: a directory outside the base directory with a file to aim at, and a file and a directory inside.
  outside = await mkdtemp(path.join(tmpdir(), 'bbs-battery-outside-'));
  await writeFile(path.join(outside, 'victim.txt'), 'keep me');
  await mkdir(path.join(proc.basedir, 'inside', 'sub'), { recursive: true });
  await writeFile(path.join(proc.basedir, 'inside', 'f.txt'), 'inside');
});

after(async () => {
  if (proc) await stopWorker(proc);
  if (outside) await rm(outside, { recursive: true, force: true });
  await stack?.release();
});

/** One bad command: its name, args (made from the base and outside directories), and the start_error it must end with. */
export interface CommandCase {
  name: string;
  command: string;
  args: (dirs: { basedir: string; outside: string }) => Record<string, unknown>;
  message: RegExp;
  todo?: string;
}

const OUTSIDE = /is outside the worker's base directory/;
const missing = (className: string, arg: string) => new RegExp(`^${className} is missing args: ${arg}`);
const mustBe = (arg: string, what: string) => new RegExp(`'${arg}' must be ${what}`);
const shell = (extra: Record<string, unknown>) => () => ({ command: ['true'], workdir: 'inside', ...extra });

export const COMMAND_CASES: CommandCase[] = [
  // shell
  {
    name: 'shell with no command',
    command: 'shell',
    args: () => ({ workdir: '.' }),
    message: missing('WorkerShellCommand', 'command'),
  },
  {
    name: 'shell with no workdir',
    command: 'shell',
    args: () => ({ command: ['true'] }),
    message: missing('WorkerShellCommand', 'workdir'),
  },
  {
    name: 'shell with a workdir that is a number',
    command: 'shell',
    args: shell({ workdir: 7 }),
    message: mustBe('workdir', 'a string'),
  },
  { name: 'shell with workdir ..', command: 'shell', args: shell({ workdir: '..' }), message: OUTSIDE },
  {
    name: 'shell with workdir inside/../..',
    command: 'shell',
    args: shell({ workdir: 'inside/../..' }),
    message: OUTSIDE,
  },
  {
    name: 'shell with an absolute workdir outside',
    command: 'shell',
    args: ({ outside }) => ({ command: ['touch', 'escaped'], workdir: outside }),
    message: OUTSIDE,
  },
  {
    name: 'shell with env that is text',
    command: 'shell',
    args: shell({ env: 'PATH=/tmp' }),
    message: /'env' must map names/,
  },
  {
    name: 'shell with env that is a list',
    command: 'shell',
    args: shell({ env: ['PATH=/tmp'] }),
    message: /'env' must map names/,
  },
  {
    name: 'shell with a timeout of -1',
    command: 'shell',
    args: shell({ timeout: -1 }),
    message: mustBe('timeout', 'a number of zero or more'),
  },
  {
    name: 'shell with a maxTime that is text',
    command: 'shell',
    args: shell({ maxTime: '5' }),
    message: mustBe('maxTime', 'a number of zero or more'),
  },
  {
    name: 'shell with a sigtermTime that is a list',
    command: 'shell',
    args: shell({ sigtermTime: [1] }),
    message: mustBe('sigtermTime', 'a number of zero or more'),
  },
  {
    name: 'shell with max_lines of -5',
    command: 'shell',
    args: shell({ max_lines: -5 }),
    message: mustBe('max_lines', 'a number of zero or more'),
  },
  {
    name: 'shell with want_stdout "yes"',
    command: 'shell',
    args: shell({ want_stdout: 'yes' }),
    message: mustBe('want_stdout', 'true or false'),
  },
  {
    name: 'shell with logEnviron 1',
    command: 'shell',
    args: shell({ logEnviron: 1 }),
    message: mustBe('logEnviron', 'true or false'),
  },
  {
    name: 'shell with an initial_stdin that is a number',
    command: 'shell',
    args: shell({ initial_stdin: 5 }),
    message: mustBe('initial_stdin', 'a string'),
  },
  {
    name: 'shell with interruptSignal BOGUS',
    command: 'shell',
    args: shell({ interruptSignal: 'BOGUS' }),
    message: /interruptSignal 'BOGUS' is not a signal name/,
  },
  {
    name: 'shell with logfiles that are text',
    command: 'shell',
    args: shell({ logfiles: 'out.log' }),
    message: /'logfiles' must map log names/,
  },
  {
    name: 'shell with a logfile with no filename',
    command: 'shell',
    args: shell({ logfiles: { x: {} } }),
    message: /logfiles\['x'\] needs a filename/,
  },
  {
    name: 'shell with a logfile named stdio',
    command: 'shell',
    args: shell({ logfiles: { stdio: 'a.log' } }),
    message: /logfiles\['stdio'\]: .* are the command's own output/,
  },
  {
    name: 'shell with a logfile through ..',
    command: 'shell',
    args: shell({ logfiles: { x: '../../../etc/passwd' } }),
    message: OUTSIDE,
  },
  {
    name: 'shell with an absolute logfile outside',
    command: 'shell',
    args: ({ outside }) => ({
      command: ['true'],
      workdir: '.',
      logfiles: { x: path.join(outside, 'victim.txt') },
    }),
    message: OUTSIDE,
  },
  // mkdir
  {
    name: 'mkdir with no paths',
    command: 'mkdir',
    args: () => ({}),
    message: missing('MakeDirectory', 'paths'),
  },
  {
    name: 'mkdir with paths that are text',
    command: 'mkdir',
    args: () => ({ paths: 'a' }),
    message: mustBe('paths', 'a list of strings'),
  },
  {
    name: 'mkdir with a path that is a number',
    command: 'mkdir',
    args: () => ({ paths: [1] }),
    message: mustBe('paths', 'a list of strings'),
  },
  {
    name: 'mkdir through ..',
    command: 'mkdir',
    args: () => ({ paths: ['ok', '../escaped'] }),
    message: OUTSIDE,
  },
  {
    name: 'mkdir of an absolute path outside',
    command: 'mkdir',
    args: ({ outside }) => ({ paths: [path.join(outside, 'new')] }),
    message: OUTSIDE,
  },
  // rmdir
  {
    name: 'rmdir with no paths',
    command: 'rmdir',
    args: () => ({}),
    message: missing('RemoveDirectory', 'paths'),
  },
  {
    name: 'rmdir with paths that are an object',
    command: 'rmdir',
    args: () => ({ paths: { 0: 'inside' } }),
    message: mustBe('paths', 'a list of strings'),
  },
  {
    name: 'rmdir of the base directory (.)',
    command: 'rmdir',
    args: () => ({ paths: ['.'] }),
    message: /refusing to remove the worker's base directory/,
  },
  {
    name: 'rmdir of the base directory (inside/..)',
    command: 'rmdir',
    args: () => ({ paths: ['inside/..'] }),
    message: /refusing to remove the worker's base directory/,
  },
  { name: 'rmdir of ..', command: 'rmdir', args: () => ({ paths: ['inside', '..'] }), message: OUTSIDE },
  { name: 'rmdir of /', command: 'rmdir', args: () => ({ paths: ['/'] }), message: OUTSIDE },
  {
    name: 'rmdir of the outside directory',
    command: 'rmdir',
    args: ({ outside }) => ({ paths: [outside] }),
    message: OUTSIDE,
  },
  // cpdir
  {
    name: 'cpdir with no todir',
    command: 'cpdir',
    args: () => ({ fromdir: 'inside' }),
    message: missing('CopyDirectory', 'to_path or todir'),
  },
  {
    name: 'cpdir with no fromdir',
    command: 'cpdir',
    args: () => ({ todir: 'copy' }),
    message: missing('CopyDirectory', 'from_path or fromdir'),
  },
  {
    name: 'cpdir with a fromdir that is a number',
    command: 'cpdir',
    args: () => ({ fromdir: 1, todir: 'copy' }),
    message: mustBe('fromdir', 'a string'),
  },
  {
    name: 'cpdir from outside',
    command: 'cpdir',
    args: ({ outside }) => ({ fromdir: outside, todir: 'copy' }),
    message: OUTSIDE,
  },
  {
    name: 'cpdir to outside through ..',
    command: 'cpdir',
    args: () => ({ fromdir: 'inside', todir: '../copied' }),
    message: OUTSIDE,
  },
  // stat
  { name: 'stat with no path', command: 'stat', args: () => ({}), message: missing('StatFile', 'path') },
  {
    name: 'stat with a path that is a list',
    command: 'stat',
    args: () => ({ path: ['inside'] }),
    message: mustBe('path', 'a string'),
  },
  { name: 'stat of /etc/passwd', command: 'stat', args: () => ({ path: '/etc/passwd' }), message: OUTSIDE },
  {
    name: 'stat through ..',
    command: 'stat',
    args: ({ outside }) => ({ path: `../${path.basename(outside)}/victim.txt` }),
    message: OUTSIDE,
  },
  // glob
  { name: 'glob with no path', command: 'glob', args: () => ({}), message: missing('GlobPath', 'path') },
  {
    name: 'glob with a path that is a number',
    command: 'glob',
    args: () => ({ path: 5 }),
    message: mustBe('path', 'a string'),
  },
  { name: 'glob of ../*', command: 'glob', args: () => ({ path: '../*' }), message: OUTSIDE },
  { name: 'glob of /etc/*', command: 'glob', args: () => ({ path: '/etc/*' }), message: OUTSIDE },
  // listdir
  { name: 'listdir with no path', command: 'listdir', args: () => ({}), message: missing('ListDir', 'path') },
  {
    name: 'listdir with a path that is null',
    command: 'listdir',
    args: () => ({ path: null }),
    message: missing('ListDir', 'path'),
  },
  { name: 'listdir of ..', command: 'listdir', args: () => ({ path: '..' }), message: OUTSIDE },
  { name: 'listdir of /', command: 'listdir', args: () => ({ path: '/' }), message: OUTSIDE },
  // rmfile
  {
    name: 'rmfile with no path',
    command: 'rmfile',
    args: () => ({}),
    message: missing('RemoveFile', 'path'),
  },
  {
    name: 'rmfile with a path that is a list',
    command: 'rmfile',
    args: () => ({ path: [] }),
    message: mustBe('path', 'a string'),
  },
  {
    name: 'rmfile of the victim through ..',
    command: 'rmfile',
    args: ({ outside }) => ({ path: `inside/../../${path.basename(outside)}/victim.txt` }),
    message: OUTSIDE,
  },
  {
    name: 'rmfile of the victim by absolute path',
    command: 'rmfile',
    args: ({ outside }) => ({ path: path.join(outside, 'victim.txt') }),
    message: OUTSIDE,
  },
];

/** Every entry under `dir` (not following links) with its type, size and mode: what a refused command may not change. */
async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const info = await lstat(path.join(dir, entry));
    out.push(`${entry} ${info.isDirectory() ? 'd' : 'f'} ${info.size} ${info.mode.toString(8)}`);
  }
  return out.sort();
}

describe('the bad-input battery: worker commands', () => {
  for (const testCase of COMMAND_CASES) {
    it(`ends ${testCase.name} as a start_error and changes no file`, { todo: testCase.todo }, async () => {
      // Prepare
      const dirs = { basedir: proc.basedir, outside };
      const before = { inside: await tree(proc.basedir), outside: await tree(outside) };
      // Act
      const id = await startCommand(stack, worker.name, testCase.command, testCase.args(dirs));
      const view = await waitForCommand(stack, id);
      // Assess
      assert.equal(view.failure?.kind, 'start_error', JSON.stringify(view));
      assert.match(view.failure?.message ?? '', testCase.message);
      assert.deepEqual({ inside: await tree(proc.basedir), outside: await tree(outside) }, before);
    });
  }
});
