// Owns each function's configured memory, read from serverless.yml, for the bill.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ScalarTag } from 'yaml';
import { repoRoot } from './paths.ts';

// CloudFormation tags only need to parse: only memory sizes are read here.
const cloudFormationTags: ScalarTag[] = ['!Ref', '!GetAtt', '!Join', '!Sub'].flatMap((tag) => [
  { tag, resolve: (value: string) => value },
  { tag, collection: 'seq', resolve: (value: unknown) => value } as unknown as ScalarTag,
]);

interface ServiceFile {
  provider: { memorySize?: number };
  functions: Record<string, { memorySize?: number }>;
}

/** Each function's configured memory in MB (its own memorySize, else the provider's, else Lambda's 1024). */
export function functionMemoryMb(): Record<string, number> {
  const service = parse(readFileSync(join(repoRoot, 'serverless.yml'), 'utf8'), {
    customTags: cloudFormationTags,
  }) as ServiceFile;
  return Object.fromEntries(
    Object.entries(service.functions).map(([name, fn]) => [
      name,
      fn.memorySize ?? service.provider.memorySize ?? 1024,
    ]),
  );
}
