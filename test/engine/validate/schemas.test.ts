// The schemas editors and the engine read: draft-07, every property described, every object with
// properties closed; built-in step types keep the same contract as plugins; the build's
// precompiled validators are the current schemas; shipped runbooks point editors at the schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { root } from '../../helpers/cli.js';
import { ajv, documentValidatorFile, readSchema, schemaHash, stepValidatorFile } from '../../../engine/validate/schemas.js';
import { checkStepDefinition } from '../../../engine/step-api/contract.js';
import { loadAllBuiltins } from '../../../engine/step-api/registry.js';
import { stepModules } from '../../../steps/index.js';
import type { JsonSchema } from '../../../engine/core/types.js';

const require = createRequire(import.meta.url);
// `npm test` builds with `npm run build` (tsc, then build-schemas), so dist/schemas must be fresh
// there; a bare `npx tsc` may leave it stale after a schema edit, and the engine then falls back to
// ajv, which is correct, only slower. Check freshness only under npm test (and so in CI).
const builtByNpm = process.env.npm_lifecycle_event === 'test';

/**
 * Problems in a schema: undescribed properties, objects with properties left open. A property that
 * is only a `$ref` is described by the definition it points to (draft-07 ignores $ref's siblings).
 */
function lint(schema: unknown, at: string, out: string[] = [], top: unknown = schema): string[] {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return out;
  const s = schema as Record<string, unknown>;
  const described = (p: Record<string, unknown>): boolean => {
    if (typeof p.description === 'string' && p.description.trim() !== '') return true;
    const ref = typeof p.$ref === 'string' ? /^#\/(definitions|\$defs)\/(.+)$/.exec(p.$ref) : null;
    const target = ref ? ((top as Record<string, Record<string, Record<string, unknown>>>)[ref[1]!]?.[ref[2]!]) : undefined;
    return target !== undefined && described(target);
  };
  if (s.properties && typeof s.properties === 'object') {
    if (s.additionalProperties !== false) out.push(`${at}: has properties but not additionalProperties: false`);
    for (const [name, prop] of Object.entries(s.properties as Record<string, unknown>)) {
      if (!described(prop as Record<string, unknown>)) out.push(`${at}.${name}: no description`);
      lint(prop, `${at}.${name}`, out, top);
    }
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') lint(s.additionalProperties, `${at}.*`, out, top);
  for (const key of ['items', 'definitions', '$defs', 'oneOf', 'anyOf', 'allOf', 'if', 'then', 'else']) {
    const v = s[key];
    if (Array.isArray(v)) v.forEach((x, i) => lint(x, `${at}.${key}[${i}]`, out, top));
    else if (v && typeof v === 'object') {
      if (key === 'definitions' || key === '$defs') for (const [n, d] of Object.entries(v)) lint(d, `${at}.${key}.${n}`, out, top);
      else lint(v, `${at}.${key}`, out, top);
    }
  }
  return out;
}

for (const name of ['runbook', 'inventory'] as const) {
  test(`${name}.schema.json: draft-07, valid, every property described, objects closed`, () => {
    const schema = readSchema(name);
    assert.is(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    assert.ok(ajv().validateSchema(schema), ajv().errorsText());
    assert.equal(lint(schema, name), []);
  });

  test(`${name}: the build's precompiled validator is the current schema`, () => {
    if (!builtByNpm) return;
    const mod = require(documentValidatorFile(name)) as { schemaHash?: string };
    assert.is(mod.schemaHash, schemaHash(readSchema(name)), 'run npm run build: dist/schemas is stale (plan would fall back to ajv)');
  });
}

test('the linter notices an undescribed property and an open object', () => {
  assert.equal(lint({ type: 'object', properties: { a: { type: 'string' } } }, 'x'), ['x: has properties but not additionalProperties: false', 'x.a: no description']);
  const refs = { definitions: { c: { type: 'string' }, d: { description: 'd', type: 'string' } }, type: 'object', additionalProperties: false, properties: { a: { $ref: '#/definitions/c' }, b: { $ref: '#/definitions/d' } } };
  assert.equal(lint(refs, 'x'), ['x.a: no description']);
});

test('every built-in step type meets the step contract plugins are held to (and, under npm test, has a fresh validator)', async () => {
  const defs = await loadAllBuiltins(stepModules);
  assert.is(defs.length, Object.keys(stepModules).length);
  for (const def of defs) {
    assert.equal(checkStepDefinition(def, def.type), [], def.type);
    assert.equal(lint(def.with as JsonSchema, `${def.type}.with`), [], def.type);
    if (!builtByNpm) continue;
    const mod = require(stepValidatorFile(def.type)) as { schemaHash?: string };
    assert.is(mod.schemaHash, schemaHash(def.with), `${def.type}: dist/schemas is stale`);
  }
});

test('shipped runbooks start with the yaml-language-server schema line, and it resolves', () => {
  const dir = join(root, 'runbooks');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yml')) : [];
  for (const f of files) {
    const first = readFileSync(join(dir, f), 'utf8').split('\n')[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    assert.ok(m, `${f}: first line is ${JSON.stringify(first)}`);
    assert.is(resolve(dirname(join(dir, f)), m[1]!), join(root, 'schemas', 'runbook.schema.json'), f);
  }
});

test.run();
