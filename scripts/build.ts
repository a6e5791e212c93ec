/**
 * `npm run build`: bundles each function declared in serverless.yml into dist/functions/<name>.mjs with
 * esbuild, minified, targeting node20, the AWS SDK v3 clients bundled (DESIGN.md section 2). The same
 * settings as serverless.yml's custom.esbuild, which `osls package` uses. Prints each bundle's size.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'yaml';
import type { ScalarTag } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'functions');

// CloudFormation tags only need to parse here; the build reads nothing but function handlers.
const cloudFormationTags: ScalarTag[] = ['!Ref', '!GetAtt', '!Join', '!Sub'].flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq', resolve: (value: unknown) => value } as unknown as ScalarTag,
]);

interface FunctionDeclaration {
  handler: string;
}

export function functionEntries(): Record<string, string> {
  const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), {
    customTags: cloudFormationTags,
  }) as { functions: Record<string, FunctionDeclaration> };
  return Object.fromEntries(
    Object.entries(config.functions).map(([name, fn]) => [
      name,
      join(root, `${fn.handler.replace(/\.[^.]+$/, '')}.ts`),
    ]),
  );
}

export async function buildFunctions(): Promise<Record<string, number>> {
  mkdirSync(outdir, { recursive: true });
  const sizes: Record<string, number> = {};
  const entries = functionEntries();
  const result = await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // The SDK's ES module builds tree-shake; its CommonJS builds (esbuild's default on node) do not.
    mainFields: ['module', 'main'],
    outExtension: { '.js': '.mjs' },
    metafile: true,
    legalComments: 'none',
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  for (const name of Object.keys(entries)) sizes[name] = statSync(join(outdir, `${name}.mjs`)).size;
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sizes = await buildFunctions();
  for (const [name, bytes] of Object.entries(sizes))
    console.log(
      `${relative(root, join(outdir, `${name}.mjs`)).padEnd(40)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB`,
    );
}
