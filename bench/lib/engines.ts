// Owns which worker engines a benchmark runs on (`npm run bench -- --engine`) and how their figures sit side by side.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { WORKER_ENGINES } from '../../worker/options.ts';
import type { WorkerEngineName } from '../../worker/options.ts';
import type { BenchOutcome, Figure, Target } from './report.ts';

/** What `--engine` accepts: one engine, or both side by side. */
export const ENGINE_CHOICES = [...WORKER_ENGINES, 'both'] as const;

/** The engine one run of a benchmark's workers uses (the fixture worker's `--engine` and `--buildbot-worker`). */
export interface EngineRun {
  name: WorkerEngineName;
  /** The buildbot-worker program, for the stock engine. @default 'buildbot-worker' on PATH */
  buildbotWorker?: string;
}

/** The engines of one `npm run bench`, and why those: printed, and kept in each engine-aware result. */
export interface EngineSelection {
  engines: WorkerEngineName[];
  /** The buildbot-worker program the stock engine runs, when it is selected. */
  buildbotWorker?: string;
  why: string;
}

export class EngineChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineChoiceError';
  }
}

/** The first executable `program` on `env.PATH` (or `program` itself when it is a path), as a shell would find it. */
export function findProgram(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = program.includes('/')
    ? [program]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, program));
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * `--engine` as given (or not) to the engines to run: by default both when buildbot-worker is found, else
 * ours alone, saying so. Asking for the stock engine without a buildbot-worker to run is an error.
 */
export function selectEngines(
  choice: string | undefined,
  buildbotWorker: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): EngineSelection {
  if (choice !== undefined && !(ENGINE_CHOICES as readonly string[]).includes(choice))
    throw new EngineChoiceError(`--engine must be one of ${ENGINE_CHOICES.join(', ')}, got '${choice}'`);
  const program = buildbotWorker ?? 'buildbot-worker';
  const found = findProgram(program, env);
  if (choice === undefined)
    return found
      ? {
          engines: ['native', 'buildbot-worker'],
          buildbotWorker: found,
          why: `both engines by default: ${found} found`,
        }
      : {
          engines: ['native'],
          why: `native only by default: ${program} is not ${program.includes('/') ? 'executable' : 'on PATH'} (install buildbot-worker for both)`,
        };
  if (choice === 'native') return { engines: ['native'], why: '--engine native' };
  if (!found) throw new EngineChoiceError(`--engine ${choice} needs ${program}, which is not found`);
  return {
    engines: choice === 'both' ? ['native', 'buildbot-worker'] : ['buildbot-worker'],
    buildbotWorker: found,
    why: `--engine ${choice} (${found})`,
  };
}

/** The engine of one run, from the selection. */
export function engineRun(selection: EngineSelection, name: WorkerEngineName): EngineRun {
  return name === 'buildbot-worker' ? { name, buildbotWorker: selection.buildbotWorker } : { name };
}

/** Figure names, sample series and checks of our own worker stay as they were; the stock engine's are prefixed. */
export function engineLabel(engine: WorkerEngineName, name: string, separator = ': '): string {
  return engine === 'native' ? name : `${engine}${separator}${name}`;
}

/** The name of the row that divides the stock engine's figure by ours. */
export function ratioLabel(name: string): string {
  return `buildbot-worker / native: ${name}`;
}

const TIME_UNITS = new Set(['ms', 's']);

/**
 * One row per time figure both engines reported: the stock engine's value over ours (1 = as fast). `targets`
 * holds a target for some of these rows by the figure's own name (the "within 1.5x").
 */
export function ratioFigures(
  native: readonly Figure[],
  stock: readonly Figure[],
  targets: Record<string, Target> = {},
): Figure[] {
  const ours = new Map(native.map((figure) => [figure.name, figure]));
  const rows: Figure[] = [];
  for (const figure of stock) {
    const mine = ours.get(figure.name);
    if (!mine || !TIME_UNITS.has(figure.unit) || mine.unit !== figure.unit || !(mine.value > 0)) continue;
    const target = targets[figure.name];
    rows.push({
      name: ratioLabel(figure.name),
      value: figure.value / mine.value,
      unit: 'ratio',
      ...(target ? { target } : {}),
    });
  }
  return rows;
}

/** `record` with each key labelled by `engine` (engineLabel), joined by `separator`. */
export function prefixKeys<T>(
  engine: WorkerEngineName,
  record: Record<string, T>,
  separator: string,
): Record<string, T> {
  return Object.fromEntries(
    Object.entries(record).map(([key, value]) => [engineLabel(engine, key, separator), value]),
  );
}

/** How a benchmark that runs once per engine wants the stock engine's figures judged. */
export interface PerEngineTargets {
  /** The stock engine's own targets, by figure name, in place of ours (the issue's). */
  stock?: Record<string, Target>;
  /** Targets on the ratio rows (stock / native), by figure name. */
  ratio?: Record<string, Target>;
}

/**
 * One outcome from a benchmark run once per engine: our engine's figures as they were, then the stock engine's
 * (prefixed, with its own targets in place of ours where given), then one ratio row per time figure. Samples,
 * floors and checks are kept per engine under the same prefixes; params and details of the stock run go under
 * details.engines.
 */
export function mergeEngineOutcomes(
  outcomes: ReadonlyMap<WorkerEngineName, BenchOutcome>,
  targets: PerEngineTargets = {},
): BenchOutcome {
  const entries = [...outcomes.entries()];
  const [firstEngine, first] = entries[0]!;
  const figures: Figure[] = [];
  for (const [engine, outcome] of entries)
    for (const figure of outcome.figures) {
      const { target: ownTarget, ...rest } = figure;
      const target = engine === 'native' ? ownTarget : (targets.stock?.[figure.name] ?? ownTarget);
      figures.push({ ...rest, name: engineLabel(engine, figure.name), ...(target ? { target } : {}) });
    }
  const native = outcomes.get('native');
  const stock = outcomes.get('buildbot-worker');
  if (native && stock) figures.push(...ratioFigures(native.figures, stock.figures, targets.ratio));
  return {
    params: first.params,
    figures,
    samples: Object.assign({}, ...entries.map(([engine, o]) => prefixKeys(engine, o.samples, '.'))),
    floor: {
      description: first.floor.description,
      samples: Object.assign({}, ...entries.map(([engine, o]) => prefixKeys(engine, o.floor.samples, '.'))),
    },
    checks: Object.assign({}, ...entries.map(([engine, o]) => prefixKeys(engine, o.checks, ': '))),
    details: {
      ...(first.details ?? {}),
      engines: Object.fromEntries(
        entries
          .filter(([engine]) => engine !== firstEngine)
          .map(([engine, o]) => [engine, { params: o.params, details: o.details ?? {} }]),
      ),
    },
  };
}
