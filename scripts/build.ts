/**
 * `npm run build`: bundles each function declared in serverless.yml into dist/functions/<name>.mjs with
 * the esbuild settings of serverless.yml's custom.esbuild (the ones `osls package` uses), so the two
 * builds cannot drift. Prints each bundle's size.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { parse } from 'yaml';
import type { ScalarTag } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'functions');

// CloudFormation tags only need to parse here; the build reads function handlers and custom.esbuild.
const cloudFormationTags: ScalarTag[] = ['!Ref', '!GetAtt', '!Join', '!Sub'].flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq', resolve: (value: unknown) => value } as unknown as ScalarTag,
]);

interface ServerlessFile {
  functions: Record<string, { handler: string }>;
  custom: { esbuild: BuildOptions & { exclude?: string[]; outputFileExtension?: string } };
}

function readServerlessFile(): ServerlessFile {
  return parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: cloudFormationTags,
  }) as ServerlessFile;
}

export function functionEntries(config = readServerlessFile()): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config.functions).map(([name, fn]) => [
      name,
      join(root, `${fn.handler.replace(/\.[^.]+$/, '')}.ts`),
    ]),
  );
}

/** custom.esbuild less serverless-esbuild's own keys, as that plugin hands it to esbuild. */
function esbuildOptions(config: ServerlessFile): BuildOptions {
  const { exclude: _exclude, outputFileExtension = '.js', ...options } = config.custom.esbuild;
  return { ...options, outExtension: { '.js': outputFileExtension }, absWorkingDir: root };
}

export async function buildFunctions(): Promise<Record<string, number>> {
  mkdirSync(outdir, { recursive: true });
  const config = readServerlessFile();
  const entries = functionEntries(config);
  const options = esbuildOptions(config);
  const result = await build({
    ...options,
    entryPoints: entries,
    outdir,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const extension = options.outExtension?.['.js'] ?? '.js';
  const sizes: Record<string, number> = {};
  for (const name of Object.keys(entries)) sizes[name] = statSync(join(outdir, `${name}${extension}`)).size;
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildFunctions();
  for (const [name, bytes] of Object.entries(sizes))
    console.log(
      `${relative(root, join(outdir, name)).padEnd(32)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`,
    );
}
