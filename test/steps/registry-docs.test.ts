// Parity between steps/, their schemas, their tests and the README: every step type is one
// defineStep literal with a described schema, has a README entry and its own test file that runs
// the step tester on it. Each failure says what to add.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../helpers/cli.js';
import { stepModules } from '../../steps/index.js';
import { loadAllBuiltins } from '../../engine/step-api/registry.js';
import { checkStepDefinition } from '../../engine/step-api/contract.js';
import { isDefinedStep } from '../../engine/step-api/define-step.js';
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

test('every step test file runs the step tester on its step type (contract, with: blocks, plan without I/O)', () => {
  const missing = defs
    .map((d) => d.type)
    .filter((t) => existsSync(join(root, 'test', 'steps', `${t}.test.ts`)))
    .filter((t) => {
      const source = readFileSync(join(root, 'test', 'steps', `${t}.test.ts`), 'utf8');
      return !source.includes(`from '../../steps/${t}.js'`) || !/\bstepTester\.run\(/.test(source);
    });
  assert.equal(missing, [], `call stepTester.run(<definition>, { valid, invalid, plan }) in ${missing.map((t) => `test/steps/${t}.test.ts`).join(', ')}`);
});

test('every step type has a with: schema and meets the contract', () => {
  const problems = defs.flatMap((d) => checkStepDefinition(d, `steps/${d.type}.ts`));
  assert.equal(problems, [], problems.join('\n'));
});

test('every step type is one defineStep literal: frozen, with its messages and defaults inside', async () => {
  const loose: string[] = [];
  for (const [type, load] of Object.entries(stepModules)) {
    const mod = (await load()) as Record<string, unknown> & { default: object };
    if (!isDefinedStep(mod.default)) loose.push(`steps/${type}.ts: the default export is not made by defineStep`);
    if (!Object.isFrozen(mod.default)) loose.push(`steps/${type}.ts: the definition can be changed after its literal`);
    for (const name of Object.keys(mod)) {
      if (/^(messages|DEFAULTS?|DEFAULT_\w+)$/.test(name)) loose.push(`steps/${type}.ts exports ${name}: put it in the definition (messages, defaults)`);
    }
  }
  assert.equal(loose, [], loose.join('\n'));
});

test('a step type with a probe is a read (or decides its impact per use)', () => {
  const wrong = defs.filter((d) => d.probe && d.impact !== 'read' && typeof d.impact !== 'function').map((d) => d.type);
  assert.equal(wrong, [], 'plan --probe never runs change or dataLoss steps; remove probe() from these');
});

test.run();
