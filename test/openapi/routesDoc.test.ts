// docs/commands.md's route reference held to the OpenAPI document the API serves.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ROUTES } from '../../shared/openapi/routes.ts';
import { ROUTES_DOC, renderRoutes, typeOf, withRoutes } from '../../scripts/routes-doc.ts';

describe("docs/commands.md's route reference", () => {
  it('is what scripts/routes-doc.ts writes from the OpenAPI document', () => {
    // Act
    const text = readFileSync(ROUTES_DOC, 'utf8');

    // Assess
    assert.equal(
      text,
      withRoutes(text),
      'docs/commands.md is not current: run npx tsx scripts/routes-doc.ts',
    );
  });

  it('has a section for every route, with its body and answers', () => {
    // Act
    const section = renderRoutes();

    // Assess
    for (const route of ROUTES)
      assert.ok(section.includes(`### \`${route.method} ${route.path}\``), route.path);
    assert.match(
      section,
      /### `POST \/v1\/commands`[\s\S]*?\| `secrets` \|/,
      'the start body lists its fields',
    );
  });

  it('words a schema in a few words', () => {
    assert.equal(typeOf({ type: 'integer', minimum: 0, maximum: 6 }), 'integer (0–6)');
    assert.equal(
      typeOf({ type: 'array', items: { $ref: '#/components/schemas/CommandUpdate' } }),
      'array of `CommandUpdate`',
    );
    assert.equal(typeOf({ anyOf: [{ type: 'string' }, { type: 'null' }] }), 'string or null');
    assert.equal(typeOf({}), 'any');
  });
});
