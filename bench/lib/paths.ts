// Owns the benchmarks' paths: the checkout's root and the results folder.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout's root (bench/lib/ is two levels down). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where `npm run bench` writes one JSON file per benchmark (git-ignored). */
export const defaultResultsDir = join(repoRoot, 'bench', 'results');
