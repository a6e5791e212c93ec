/**
 * coldstart: what a Lambda cold start pays for our code. `npm run build`'s bundles (dist/functions/*.mjs),
 * each one's size, and the median time to import it in a fresh node process (the init phase, minus the
 * runtime's own start). Floor: the same fresh process importing an empty module.
 *
 * COLDSTART_AGAINST=LABEL=DIR[,LABEL=DIR...] (copies of other builds' dist/functions, e.g. the baseline's)
 * also imports those builds' bundles, in the same rounds: a before/after comparison then shares the
 * machine's load, which on a busy machine moves every import time more than a library does.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildFunctions } from '../scripts/build.ts';
import * as ENV from '../shared/config.ts';
import { SERVICE_VARIABLES } from '../shared/env.ts';
import type { Benchmark } from './lib/benchmark.ts';
import { size } from './lib/benchmark.ts';
import { repoRoot } from './lib/paths.ts';
import { runTimed } from './lib/processes.ts';
import type { Figure } from './lib/report.ts';
import { median } from './lib/stats.ts';

const distDir = join(repoRoot, 'dist', 'functions');
const EMPTY_MODULE = 'data:text/javascript,export{}';

/** Values are never used: a bundle that talks to AWS at import would fail here, which we want to know. */
const placeholderEnv: Record<string, string> = {
  ...Object.fromEntries(SERVICE_VARIABLES.map((name) => [name, `bench-${name.toLowerCase()}`])),
  [ENV.awsRegion]: 'us-east-1',
  [ENV.awsAccessKeyId]: 'bench',
  [ENV.awsSecretAccessKey]: 'bench',
};

interface ImportSample {
  importMs: number;
  /** CPU time (user + system) the import took: what a busy machine inflates far less than wall time. */
  importCpuMs: number;
  wallMs: number;
}

async function timeImport(url: string): Promise<ImportSample> {
  const script = `const c=process.cpuUsage(),t=performance.now();await import(${JSON.stringify(url)});const w=performance.now()-t,u=process.cpuUsage(c);process.stdout.write(w+' '+(u.user+u.system)/1000);`;
  const run = await runTimed(process.execPath, ['--input-type=module', '-e', script], {
    cwd: distDir,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...placeholderEnv },
  });
  const [importMs, importCpuMs] = run.stdout.split(' ').map(Number);
  return { importMs: importMs!, importCpuMs: importCpuMs!, wallMs: run.wallMs };
}

/** Another build to time in the same rounds. */
interface OtherBuild {
  label: string;
  dir: string;
}

/** COLDSTART_AGAINST's builds: `label=dir` pairs, comma-separated (a bare dir is labelled `against`). */
function otherBuilds(value: string | undefined): OtherBuild[] {
  if (!value) return [];
  return value.split(',').map((entry) => {
    const at = entry.indexOf('=');
    return at < 0
      ? { label: 'against', dir: entry }
      : { label: entry.slice(0, at), dir: entry.slice(at + 1) };
  });
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
}

/** The packages (or our own folders) that take the most bytes of a bundle: where to cut first. */
function largestInputs(meta: Metafile, functionName: string): Record<string, number> {
  const output = Object.entries(meta.outputs).find(([path]) => path.endsWith(`/${functionName}.mjs`))?.[1];
  const byOwner = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const owner = input.includes('node_modules/')
      ? (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input)
      : input.split('/').slice(0, -1).join('/') || input;
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + bytesInOutput);
  }
  return Object.fromEntries([...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 8));
}

export const coldstart: Benchmark = {
  name: 'coldstart',
  title: 'bundle size and fresh-process import time of each function',
  async run(ctx) {
    const runs = size(ctx, 20, 1);
    ctx.progress('npm run build (esbuild, minified, SDK bundled)');
    const sizes = await buildFunctions();
    const names = Object.keys(sizes);
    const meta = JSON.parse(readFileSync(join(distDir, 'meta.json'), 'utf8')) as Metafile;

    const others = otherBuilds(process.env[ENV.coldstartAgainst]);
    const floor: ImportSample[] = [];
    const byFunction = new Map<string, ImportSample[]>(names.map((name) => [name, []]));
    /** Samples of the other builds, by `${label}/${name}`, for the functions each build has. */
    const byOther = new Map<string, ImportSample[]>();
    for (const { label, dir } of others)
      for (const name of names) if (existsSync(join(dir, `${name}.mjs`))) byOther.set(`${label}/${name}`, []);
    // Round-robin, so a burst of load from other work on the machine spreads over every function and build.
    for (let round = 0; round < runs; round += 1) {
      ctx.progress(`import round ${round + 1}/${runs}`);
      floor.push(await timeImport(EMPTY_MODULE));
      for (const name of names) {
        byFunction.get(name)!.push(await timeImport(pathToFileURL(join(distDir, `${name}.mjs`)).href));
        for (const { label, dir } of others)
          byOther
            .get(`${label}/${name}`)
            ?.push(await timeImport(pathToFileURL(join(dir, `${name}.mjs`)).href));
      }
    }

    const floorImport = median(floor.map((s) => s.importMs));
    const floorWall = median(floor.map((s) => s.wallMs));
    const floorCpu = median(floor.map((s) => s.importCpuMs));
    const figures: Figure[] = [];
    const samples: Record<string, number[]> = {};
    for (const name of names) {
      const taken = byFunction.get(name)!;
      samples[`${name}.importMs`] = taken.map((s) => s.importMs);
      samples[`${name}.importCpuMs`] = taken.map((s) => s.importCpuMs);
      samples[`${name}.processWallMs`] = taken.map((s) => s.wallMs);
      figures.push(
        { name: `${name} bundle`, value: sizes[name]! / 1024, unit: 'KiB', target: { op: '<=', value: 300 } },
        {
          name: `${name} import (median)`,
          value: median(samples[`${name}.importMs`]!),
          unit: 'ms',
          floor: floorImport,
          target: { op: '<=', value: 100 },
        },
        {
          name: `${name} import CPU (median)`,
          value: median(samples[`${name}.importCpuMs`]!),
          unit: 'ms',
          floor: floorCpu,
        },
        {
          name: `${name} process (median)`,
          value: median(samples[`${name}.processWallMs`]!),
          unit: 'ms',
          floor: floorWall,
        },
      );
      for (const { label, dir } of others) {
        const taken = byOther.get(`${label}/${name}`);
        if (!taken) continue;
        samples[`${name}.${label}.importMs`] = taken.map((s) => s.importMs);
        samples[`${name}.${label}.importCpuMs`] = taken.map((s) => s.importCpuMs);
        figures.push(
          {
            name: `${name} bundle, ${label}`,
            value: statSync(join(dir, `${name}.mjs`)).size / 1024,
            unit: 'KiB',
          },
          {
            name: `${name} import, ${label} (median)`,
            value: median(samples[`${name}.${label}.importMs`]!),
            unit: 'ms',
            floor: floorImport,
          },
          {
            name: `${name} import CPU, ${label} (median)`,
            value: median(samples[`${name}.${label}.importCpuMs`]!),
            unit: 'ms',
            floor: floorCpu,
          },
        );
      }
    }
    return {
      params: { runsPerFunction: runs, functions: names, against: others },
      figures,
      samples,
      floor: {
        description: 'a fresh `node --input-type=module -e` process importing an empty module',
        samples: {
          importMs: floor.map((s) => s.importMs),
          importCpuMs: floor.map((s) => s.importCpuMs),
          processWallMs: floor.map((s) => s.wallMs),
        },
      },
      checks: {},
      details: {
        bundleBytes: sizes,
        largestInputs: Object.fromEntries(names.map((name) => [name, largestInputs(meta, name)])),
      },
    };
  },
};
