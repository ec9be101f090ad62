// steps/index.ts: explicit, sorted, lazy, and complete (every steps/*.ts file is in it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../helpers/cli.js';
import { stepModules } from '../../../steps/index.js';
import { loadBuiltinDefinitions } from '../../../engine/step-api/registry.js';

const stepFiles = readdirSync(join(root, 'steps'))
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3));
const keys = Object.keys(stepModules);

test('the registry keys are sorted', () => {
  const sorted = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(keys, sorted, 'keep steps/index.ts sorted by step type name');
});

test('every steps/*.ts file is registered, and every entry has a file', () => {
  const missing = stepFiles.filter((f) => !keys.includes(f));
  assert.equal(missing, [], `add to steps/index.ts: ${missing.map((m) => `${m}: () => import('./${m}.js')`).join(', ')}`);
  const orphans = keys.filter((k) => !stepFiles.includes(k));
  assert.equal(orphans, [], 'steps/index.ts names step types with no steps/<type>.ts file');
});

test('entries are lazy imports of ./<type>.js (nothing is loaded up front)', () => {
  const source = readFileSync(join(root, 'steps', 'index.ts'), 'utf8');
  for (const key of keys) {
    assert.match(source, new RegExp(`\\b${key}: \\(\\) => import\\('\\./${key}\\.js'\\)`), key);
  }
  assert.not.match(source, /^import (?!type)/m, 'the registry imports no step module statically');
});

test("each module's default export declares the type it is registered under", async () => {
  const defs = await loadBuiltinDefinitions(stepModules, keys);
  for (const key of keys) assert.is(defs.get(key)?.type, key);
});

test.run();
