// Parity between steps/, their schemas, their tests and the README: every step type documents
// every `with:` property, has a README entry and has its own test file. Each failure says what
// to add.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../helpers/cli.js';
import { stepModules } from '../../steps/index.js';
import { loadAllBuiltins } from '../../engine/step-api/registry.js';
import { committedStepReference, undocumentedFields } from '../../engine/ui/step-reference.js';

const defs = await loadAllBuiltins(stepModules);

test('every with: property of every step type has a description', () => {
  const gaps = defs.flatMap((d) => undocumentedFields(d).map((f) => `steps/${d.type}.ts: with.${f}`));
  assert.equal(gaps, [], `add a description to each of these schema properties:\n  ${gaps.join('\n  ')}`);
});

test('every step type and output has a description', () => {
  const gaps = defs.flatMap((d) => [
    ...(d.description.trim() ? [] : [`steps/${d.type}.ts: description`]),
    ...Object.entries(d.outputs ?? {}).filter(([, o]) => !o.description?.trim()).map(([name]) => `steps/${d.type}.ts: outputs.${name}`),
  ]);
  assert.equal(gaps, [], gaps.join(', '));
});

test('every step type has a README entry in the step reference', () => {
  const section = committedStepReference(readFileSync(join(root, 'README.md'), 'utf8')) ?? '';
  const missing = defs.filter((d) => !section.includes(`\n### \`${d.type}\`\n`)).map((d) => d.type);
  assert.equal(missing, [], `README.md has no entry for ${missing.join(', ')}: run \`npm run docs\``);
});

test('every step type has its own test file test/steps/<type>.test.ts', () => {
  const missing = defs.map((d) => d.type).filter((t) => !existsSync(join(root, 'test', 'steps', `${t}.test.ts`)));
  assert.equal(missing, [], `add ${missing.map((t) => `test/steps/${t}.test.ts`).join(', ')} (tests against the lab with the real clients)`);
});

test('a step type with a probe is a read (or decides its impact per use)', () => {
  const wrong = defs.filter((d) => d.probe && d.impact !== 'read' && typeof d.impact !== 'function').map((d) => d.type);
  assert.equal(wrong, [], 'plan --probe never runs change or dataLoss steps; remove probe() from these');
});

test.run();
