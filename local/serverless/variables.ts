// Pass 1 over serverless.yml: Serverless variables (${self:...}, ${sls:stage}, ${opt:...}, ${file(...)}, ...).
import { readFileSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import { ServerlessConfigError } from '../errors.ts';
import { LOCAL_ACCOUNT_ID } from './intrinsics.ts';
import { isMap, parseCloudFormationYaml } from './yaml.ts';
import type { Resolved, ResolvedMap } from './yaml.ts';

/**
 * serverless.yml as the local stack sees it. Two passes, as on AWS:
 *   1. Serverless variables are resolved here, the way `osls print` resolves them (the YAML's CloudFormation
 *      tags already became their JSON form: yaml.ts).
 *   2. CloudFormation intrinsics are resolved against the local resources (intrinsics.ts), once the local
 *      queue URLs are known.
 * Everything the stack serves comes from describeService (service.ts), so a route added to serverless.yml is
 * served with no other edit.
 */

export interface LoadServerlessOptions {
  /** Absolute or cwd-relative path of serverless.yml. */
  serverlessFile: string;
  /** `--stage`: what `${opt:stage}` and `${sls:stage}` resolve to. */
  stage: string;
  /** `--region`: what `${opt:region}` resolves to; unset leaves the file's default. @default undefined */
  region?: string;
  /** What `${env:NAME}` reads. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** The service file after pass 1, with where it came from. */
export interface ServerlessDocument {
  file: string;
  dir: string;
  stage: string;
  region: string;
  root: ResolvedMap;
}

const VARIABLE_SOURCE = /^\s*(self|sls|opt|env|aws|file|strToBool)\s*[:(]/;
const MAX_DEPTH = 64;

/** Index of the `}` closing the `${` at `start`, counting nested `${ }` and quotes. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = start; i < text.length; i++) {
    const char = text[i];
    if (quote) {
      if (char === quote) quote = undefined;
    } else if ((char === "'" || char === '"') && depth > 0) {
      quote = char;
    } else if (char === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (char === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Splits `a, 'b, c', ${d, e}` on the commas that are outside quotes, parentheses and nested variables. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quote) {
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') quote = char;
    else if (char === '(' || char === '{') depth++;
    else if (char === ')' || char === '}') depth--;
    else if (char === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  parts.push(current.trim());
  return parts;
}

class VariableResolver {
  private readonly fileCache = new Map<string, Resolved>();
  private readonly selfCache = new Map<string, Resolved | undefined>();
  private readonly rawRoot: Resolved;
  readonly region: string;

  constructor(
    rawRoot: Resolved,
    private readonly opts: Required<Pick<LoadServerlessOptions, 'stage' | 'env'>> & {
      region?: string;
      dir: string;
    },
  ) {
    this.rawRoot = rawRoot;
    const provider = isMap(rawRoot) ? rawRoot.provider : undefined;
    const declared = isMap(provider) ? provider.region : undefined;
    this.region =
      opts.region ??
      (typeof declared === 'string' ? String(this.resolveTree(declared, 'provider.region', 0)) : 'us-east-1');
  }

  resolveTree(value: Resolved, path: string, depth: number): Resolved {
    if (depth > MAX_DEPTH)
      throw new ServerlessConfigError(`variables nest too deep at ${path} (a cycle?)`, { details: { path } });
    if (typeof value === 'string') return this.resolveString(value, path, depth);
    if (Array.isArray(value)) return value.map((item, i) => this.resolveTree(item, `${path}.${i}`, depth));
    if (isMap(value)) {
      const out: ResolvedMap = {};
      for (const [key, item] of Object.entries(value))
        out[key] = this.resolveTree(item, `${path}.${key}`, depth);
      return out;
    }
    return value;
  }

  private resolveString(text: string, path: string, depth: number): Resolved {
    let out = '';
    let cursor = 0;
    while (cursor < text.length) {
      const start = text.indexOf('${', cursor);
      if (start < 0) break;
      const end = closingBrace(text, start);
      const inner = end < 0 ? '' : text.slice(start + 2, end);
      if (end < 0 || !VARIABLE_SOURCE.test(inner)) {
        // Not a Serverless variable (`${AWS::Region}` or `${Name}` in a !Sub belong to CloudFormation).
        out += text.slice(cursor, start + 2);
        cursor = start + 2;
        continue;
      }
      const value = this.evaluate(inner, path, depth + 1);
      if (start === 0 && end === text.length - 1) return value;
      out += text.slice(cursor, start) + (typeof value === 'object' ? JSON.stringify(value) : String(value));
      cursor = end + 1;
    }
    return out + text.slice(cursor);
  }

  /** `source:address, fallback, ...`: the first part that resolves to something other than undefined/null. */
  private evaluate(expression: string, path: string, depth: number): Resolved {
    const [primary = '', ...fallbacks] = splitTopLevel(expression);
    const value = this.lookup(String(this.resolveString(primary, path, depth)), path, depth);
    if (value !== undefined && value !== null) return value;
    for (const fallback of fallbacks) {
      const candidate = this.literal(fallback, path, depth);
      if (candidate !== undefined && candidate !== null) return candidate;
    }
    throw new ServerlessConfigError(`${path}: cannot resolve \${${expression}}`, {
      details: { path, expression },
    });
  }

  private literal(text: string, path: string, depth: number): Resolved | undefined {
    const quoted = /^(['"])(.*)\1$/s.exec(text);
    if (quoted) return quoted[2] ?? '';
    if (text.startsWith('${')) {
      try {
        return this.resolveString(text, path, depth);
      } catch (error) {
        if (error instanceof ServerlessConfigError) return undefined;
        throw error;
      }
    }
    if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
    if (text === 'true' || text === 'false') return text === 'true';
    if (text === 'null') return null;
    return text;
  }

  private lookup(variable: string, path: string, depth: number): Resolved | undefined {
    const file = /^\s*file\((.+?)\)\s*(?::(.*))?$/.exec(variable);
    if (file) return this.fromFile(String(file[1]).trim(), (file[2] ?? '').trim(), path, depth);
    const boolean = /^\s*strToBool\((.+?)\)\s*$/.exec(variable);
    if (boolean) return ['true', '1'].includes(String(boolean[1]).trim());
    const match = /^\s*(\w+):(.*)$/.exec(variable);
    if (!match)
      throw new ServerlessConfigError(`${path}: malformed variable \${${variable}}`, { details: { path } });
    const [, source, rawAddress] = match;
    const address = String(rawAddress).trim();
    switch (source) {
      case 'self':
        return this.fromSelf(address, path, depth);
      case 'sls':
        if (address === 'stage') return this.opts.stage;
        break;
      case 'opt':
        if (address === 'stage') return this.opts.stage;
        if (address === 'region') return this.opts.region;
        return undefined;
      case 'env':
        return this.opts.env[address];
      case 'aws':
        if (address === 'region') return this.region;
        if (address === 'accountId') return LOCAL_ACCOUNT_ID;
        break;
    }
    throw new ServerlessConfigError(`${path}: the local stack does not know \${${variable}}`, {
      details: { path, variable },
    });
  }

  private fromSelf(address: string, path: string, depth: number): Resolved | undefined {
    if (this.selfCache.has(address)) return this.selfCache.get(address);
    let node: Resolved | undefined = this.rawRoot;
    for (const key of address === '' ? [] : address.split('.')) {
      if (Array.isArray(node)) node = node[Number(key)];
      else if (isMap(node)) node = node[key];
      else node = undefined;
      // A `${...}` on the way (e.g. `${file(...)}` holding the rest of the path) must be resolved to walk on.
      if (typeof node === 'string' && node.includes('${'))
        node = this.resolveTree(node, `self:${address}`, depth);
    }
    const value = node === undefined ? undefined : this.resolveTree(node, `self:${address}`, depth);
    this.selfCache.set(address, value);
    return value;
  }

  private fromFile(relative: string, address: string, path: string, depth: number): Resolved | undefined {
    const file = resolve(this.opts.dir, relative);
    let content = this.fileCache.get(file);
    if (content === undefined) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        throw new ServerlessConfigError(`${path}: cannot read ${relative} (resolved to ${file})`, {
          cause: error,
          details: { path, file },
        });
      }
      const raw =
        extname(file) === '.json' ? (JSON.parse(text) as Resolved) : parseCloudFormationYaml(text, file);
      content = this.resolveTree(raw, `file(${relative})`, depth);
      this.fileCache.set(file, content);
    }
    let node: Resolved | undefined = content;
    for (const key of address === '' ? [] : address.split('.')) node = isMap(node) ? node[key] : undefined;
    return node;
  }
}

/** Reads serverless.yml and resolves its Serverless variables (pass 1). */
export function loadServerlessDocument(opts: LoadServerlessOptions): ServerlessDocument {
  const file = resolve(opts.serverlessFile);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ServerlessConfigError(`cannot read ${file}`, { cause: error, details: { file } });
  }
  const raw = parseCloudFormationYaml(text, file);
  if (!isMap(raw)) throw new ServerlessConfigError(`${file} is not a YAML map`, { details: { file } });
  const dir = dirname(file);
  const resolver = new VariableResolver(raw, {
    stage: opts.stage,
    region: opts.region,
    env: opts.env ?? process.env,
    dir,
  });
  const root = resolver.resolveTree(raw, '', 0) as ResolvedMap;
  return { file, dir, stage: opts.stage, region: resolver.region, root };
}
