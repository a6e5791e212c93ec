// Holds every error class against docs/errors.md, both ways, and checks that a body carries declared fields only.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BuildbotError, ERROR_BODY_KEYS } from '../../shared/errors.ts';
import type { BuildbotErrorClass } from '../../shared/errors.ts';
import { docRows } from './docTable.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SOURCE_DIRS = ['shared', 'functions', 'local', 'worker', 'cli'];

function sourceFiles(): string[] {
  return SOURCE_DIRS.flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.includes('node_modules'))
      .map((file) => join(dir, file)),
  );
}

function isErrorsFile(path: string): boolean {
  return /(^|\/)errors\.ts$/.test(path);
}

/** Every BuildbotError class exported by an errors.ts, with the file it lives in. */
async function errorClasses(): Promise<{ file: string; name: string; cls: BuildbotErrorClass }[]> {
  const found: { file: string; name: string; cls: BuildbotErrorClass }[] = [];
  for (const file of sourceFiles().filter(isErrorsFile)) {
    const module = (await import(pathToFileURL(join(ROOT, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module))
      if (
        value === BuildbotError ||
        (typeof value === 'function' && value.prototype instanceof BuildbotError)
      )
        found.push({ file, name, cls: value as BuildbotErrorClass });
  }
  return found;
}

describe('error codes and docs/errors.md', () => {
  it('gives every exported error class its own snake_case code, unique across the code base', async () => {
    // Prepare
    const classes = await errorClasses();
    // Assess
    assert.ok(classes.length > 20, `found only ${classes.length} error classes`);
    const owners = new Map<string, string>();
    for (const { name, cls } of classes) {
      assert.ok(Object.hasOwn(cls, 'code'), `${name} declares no code of its own`);
      assert.match(cls.code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${name}'s code`);
      assert.ok(!owners.has(cls.code), `${name} and ${owners.get(cls.code)} share ${cls.code}`);
      owners.set(cls.code, name);
    }
  });

  it('documents every class with its status and body fields, and documents no code without a class', async () => {
    // Prepare
    const classes = await errorClasses();
    const rows = docRows();
    // Assess
    for (const { name, cls } of classes) {
      const row = rows.get(cls.code);
      assert.ok(row, `${name}: docs/errors.md has no row for ${cls.code}`);
      assert.equal(row.status, cls.httpStatus, `${cls.code}: HTTP status in docs/errors.md`);
      assert.deepEqual([...row.fields].sort(), [...cls.bodyFields].sort(), `${cls.code}: body fields`);
    }
    const codes = new Set(classes.map(({ cls }) => cls.code));
    for (const code of rows.keys())
      assert.ok(codes.has(code), `docs/errors.md lists ${code}, which no class has`);
  });

  it('never lets a class declare code, error or message as a body field', async () => {
    for (const { name, cls } of await errorClasses())
      for (const reserved of ERROR_BODY_KEYS)
        assert.ok(!cls.bodyFields.includes(reserved), `${name} declares ${reserved}`);
  });

  it('builds a body of the code, the message and the declared fields, whatever else the evidence holds', async () => {
    for (const { name, cls } of await errorClasses()) {
      // Prepare: an instance without its constructor, whose evidence holds every declared field and stored data.
      const error = Object.create(cls.prototype) as BuildbotError;
      const declared = Object.fromEntries(cls.bodyFields.map((field) => [field, `${field}-value`]));
      const stored = {
        pk: 'CMD#x',
        sk: 'CMD',
        argsJson: '{"secret":1}',
        storedValue: 'theirs',
        existing: {},
      };
      Object.assign(error, { message: 'what happened', details: { ...stored, ...declared } });
      // Act
      const body = error.httpBody();
      // Assess
      assert.deepEqual(
        body,
        { code: cls.code, error: cls.code, message: 'what happened', ...declared },
        name,
      );
    }
  });

  it('keeps every error class in an errors.ts, derived from BuildbotError', () => {
    // Prepare: a class that extends Error (or any *Error) anywhere but an errors.ts is in the wrong home.
    const strays: string[] = [];
    for (const file of sourceFiles().filter((path) => !isErrorsFile(path))) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const match of text.matchAll(/class\s+(\w+)\s+extends\s+(\w*Error)\b/g))
        strays.push(`${relative(ROOT, join(ROOT, file))}: ${match[1]} extends ${match[2]}`);
    }
    // Assess
    assert.deepEqual(strays, []);
  });
});
