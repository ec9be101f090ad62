// The schemas editors and the engine read: draft-07, every property described, every object with
// properties closed; built-in step types keep the same contract as plugins; the build's
// precompiled validators are the current schemas; shipped runbooks point editors at the schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { root } from '../../helpers/cli.js';
import { ajv, documentValidatorFile, precompiledStepValidator, readSchema, schemaText, withValidator } from '../../../engine/validate/schemas.js';
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
    const mod = require(documentValidatorFile(name)) as { schemaText?: string };
    assert.is(mod.schemaText, schemaText(readSchema(name)), 'run npm run build: dist/schemas is stale (plan would fall back to ajv)');
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
    const mod = precompiledStepValidator(def.type);
    assert.is(mod?.schemaText, schemaText(def.with), `${def.type}: dist/schemas is stale`);
  }
});

test('under npm test, the precompiled validators run from the build\'s code cache', () => {
  if (!builtByNpm) return;
  // In a child: V8 looks at a code cache only for a source it has not compiled in this process.
  const url = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
  const script = `
    const { loadLibrary } = await import(${url('../../../engine/core/code-cache.js')});
    const { documentValidatorFile, stepValidatorsFile, validatorLibrary } = await import(${url('../../../engine/validate/schemas.js')});
    process.stdout.write(JSON.stringify([stepValidatorsFile, documentValidatorFile('runbook')].map((f) => loadLibrary(validatorLibrary(f)).cache)));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), ['used', 'used'], 'npm run build writes dist/cache/ after dist/schemas/');
});

test('a step type whose with: is not the schema the build compiled is checked against its own schema', async () => {
  // The shipped confirm's validator is in dist/schemas/steps.validate.cjs; this confirm says otherwise.
  const own = withValidator({ type: 'confirm', with: { type: 'object', additionalProperties: false, properties: { count: { type: 'integer', description: 'n' } } } });
  assert.ok(own({ count: 2 }), 'its own schema allows count');
  assert.not.ok(own({ message: 'check' }), 'its own schema knows no message');
  const built = withValidator((await stepModules.confirm!()).default);
  assert.ok(built({ message: 'check' }));
  assert.not.ok(built({ count: 2 }));
});

test('shipped runbooks start with the yaml-language-server schema line, and it resolves', () => {
  const dir = join(root, 'runbooks');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.yml')) : [];
  for (const f of files) {
    const first = readFileSync(join(dir, f), 'utf8').split('\n')[0]!;
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
    assert.ok(m, `${f}: first line is ${JSON.stringify(first)}`);
    assert.is(resolve(dirname(join(dir, f)), m[1]!), join(root, 'schemas', 'runbook.full.schema.json'), f);
  }
});

// --- The schema editors use: schemas/runbook.full.schema.json, generated at build time. ---

const fullSchema = () => JSON.parse(readFileSync(join(root, 'schemas', 'runbook.full.schema.json'), 'utf8')) as Record<string, any>;

/** Plain ajv, as an editor or another tool would use it: none of the engine's options, formats or precompiled code. */
function plainValidator(schema: unknown) {
  const Ajv = require('ajv').default as new (o: Record<string, unknown>) => { compile(s: unknown): ((d: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string; params: Record<string, unknown> }> | null } };
  return new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);
}

const shippedRunbooks = () => [
  ...readdirSync(join(root, 'runbooks')).filter((f) => f.endsWith('.yml')).map((f) => join(root, 'runbooks', f)),
  join(root, 'examples', 'runbooks', 'make-synchronous.yml'),
];

test('the generated schema is what the hand-written one and the step types make now, with real $ids', async () => {
  const { fullRunbookSchema } = await import('../../../engine/build/full-schema.js');
  const steps = await loadAllBuiltins(stepModules);
  const made = fullRunbookSchema(readSchema('runbook'), [...steps.values()].map((d) => ({ type: d.type, description: d.description, with: d.with, target: d.target })));
  assert.equal(fullSchema(), made, 'npm run build writes schemas/runbook.full.schema.json; commit it');
  for (const [name, schema] of [['runbook', readSchema('runbook')], ['inventory', readSchema('inventory')], ['full', fullSchema()]] as const) {
    assert.match(String(schema.$id), /^urn:runbook:schema:/, `${name}: a URN that names it, not a URL on a made-up host`);
    assert.not.match(String(schema.$id), /\.local\b/);
  }
  const types = fullSchema().properties.steps.items.properties.type.examples as string[];
  assert.equal(types, Object.keys(stepModules).sort(), 'type lists the step types');
});

test('every shipped runbook validates against the generated schema with plain ajv; a wrong with: is caught there too', () => {
  const check = plainValidator(fullSchema());
  const load = (file: string) => yaml.load(readFileSync(file, 'utf8')) as Record<string, any>;
  for (const file of shippedRunbooks()) assert.ok(check(load(file)), `${file}: ${JSON.stringify(check.errors)}`);

  const planned = () => load(join(root, 'runbooks', 'planned-failover.yml'));
  const at = (doc: unknown) => (check(doc) ? [] : check.errors!.map((e) => `${e.instancePath} ${e.message}`));
  // The first sqlExec step (the runbook's order may change; the checks follow the step type).
  const q = planned().steps.findIndex((s: { type: string }) => s.type === 'sqlExec');
  const typo = planned();
  typo.steps[q].with.sqll = typo.steps[q].with.sql;
  assert.ok(at(typo).includes(`/steps/${q}/with must NOT have additional properties`), at(typo).join('\n'));
  const noImpact = planned();
  delete noImpact.steps[q].with.impact;
  assert.ok(at(noImpact).includes(`/steps/${q}/with must have required property 'impact'`), at(noImpact).join('\n'));
  const badEnum = planned();
  badEnum.steps[q].with.impact = 'maybe';
  assert.ok(at(badEnum).some((e) => e.startsWith(`/steps/${q}/with/impact `)), at(badEnum).join('\n'));
  const badType = planned();
  badType.steps[1].type = 'assertRoles';
  assert.ok(at(badType).some((e) => e === '/steps/1/type must be equal to one of the allowed values'), at(badType).join('\n'));
  const noTarget = planned();
  delete noTarget.steps[q].target;
  assert.ok(at(noTarget).includes(`/steps/${q} must have required property 'target'`), at(noTarget).join('\n'));
  const badDuration = planned();
  const wait = badDuration.steps.findIndex((s: { type: string }) => s.type === 'waitLsnStable');
  badDuration.steps[wait].with.stableFor = 'thirty seconds';
  assert.ok(at(badDuration).some((e) => e.startsWith(`/steps/${wait}/with/stableFor `)), at(badDuration).join('\n'));
  // Templates stay allowed wherever validate allows them (checked once rendered).
  const templated = planned();
  templated.steps[q].with.impact = '{{inputs.impact}}';
  assert.equal(at(templated), []);
  // A runbook with plugins may name step types the schema does not know.
  const plugin = planned();
  plugin.plugins = ['./my-step.js'];
  plugin.steps[1].type = 'myStep';
  assert.equal(at(plugin), []);
});

test.run();
