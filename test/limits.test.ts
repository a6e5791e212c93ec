// docs/limits.md and serverless.yml held to shared/limits.ts, and every limit's @default to its value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as LIMITS from '../shared/limits.ts';
import { LIMITS_DOC, defaultValue, limitComments, renderLimitsDoc } from '../scripts/limits-doc.ts';
import type { LimitName } from '../scripts/limits-doc.ts';

const NAMES = Object.keys(LIMITS) as LimitName[];

describe('docs/limits.md', () => {
  it('is what scripts/limits-doc.ts writes from shared/limits.ts', () => {
    // Act
    const { text } = renderLimitsDoc();
    // Assess
    assert.equal(
      readFileSync(LIMITS_DOC, 'utf8'),
      text,
      'docs/limits.md is not current: run npx tsx scripts/limits-doc.ts',
    );
  });

  it('says what every limit bounds in a row of its table', () => {
    // Act
    const { read } = renderLimitsDoc();
    // Assess
    assert.deepEqual(
      NAMES.filter((name) => !read.has(name)),
      [],
      'limits in no row of scripts/limits-doc.ts',
    );
  });
});

describe('shared/limits.ts', () => {
  it('gives every limit a doc comment whose @default states the value the code holds', () => {
    // Prepare
    const comments = limitComments();
    // Act
    const wrong = NAMES.flatMap((name) => {
      const stated = comments.get(name)?.defaultText;
      if (stated === undefined) return [`${name}: no @default`];
      return defaultValue(stated) === LIMITS[name]
        ? []
        : [`${name}: @default ${stated}, holds ${LIMITS[name]}`];
    });
    // Assess
    assert.deepEqual(wrong, []);
  });

  it("holds serverless.yml's authorizer cache to authorizerCacheSeconds", () => {
    // Prepare
    const serverless = readFileSync(new URL('../serverless.yml', import.meta.url), 'utf8');
    // Act
    const ttls = [...serverless.matchAll(/resultTtlInSeconds:\s*(\d+)/g)].map((match) => Number(match[1]));
    // Assess
    assert.ok(ttls.length > 0, 'serverless.yml sets no resultTtlInSeconds');
    assert.deepEqual(
      ttls,
      ttls.map(() => LIMITS.authorizerCacheSeconds),
    );
  });
});
