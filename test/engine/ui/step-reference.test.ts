// README.md's "Step reference" is generated from the step definitions (engine/ui/step-reference.ts); the
// committed text must be exactly what `npm run docs` writes today.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../../helpers/cli.js';
import { loadAllBuiltins } from '../../../engine/step-api/registry.js';
import { stepModules } from '../../../steps/index.js';
import {
  committedStepReference,
  DOCS_END,
  DOCS_START,
  renderStepDoc,
  renderStepReference,
  replaceStepReference,
  schemaFields,
  undocumentedFields,
} from '../../../engine/ui/step-reference.js';
import type { StepDefinition } from '../../../engine/step-api/types.js';

const readme = () => readFileSync(join(root, 'README.md'), 'utf8');

/** Compares line by line so a failure points at the first line that differs. */
function sameText(actual: string, expected: string, hint: string): void {
  if (actual === expected) return;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const i = a.findIndex((line, n) => line !== e[n]);
  const at = i < 0 ? Math.min(a.length, e.length) : i;
  assert.unreachable(`${hint}\n  first difference at line ${at + 1} of the section:\n  committed: ${JSON.stringify(a[at])}\n  generated: ${JSON.stringify(e[at])}`);
}

test('the committed step reference is what the definitions generate (run `npm run docs`)', async () => {
  const committed = committedStepReference(readme());
  assert.ok(committed, `README.md needs ${DOCS_START} and ${DOCS_END} under "## Step reference"; then run \`npm run docs\``);
  const generated = renderStepReference(await loadAllBuiltins(stepModules));
  sameText(committed!, generated, 'README.md step reference is out of date: run `npm run docs` and commit README.md');
});

test('the section sits under "## Step reference" and nothing else is generated', () => {
  const text = readme();
  const heading = text.indexOf('## Step reference');
  const start = text.indexOf(DOCS_START);
  assert.ok(heading >= 0 && start > heading, 'markers under the heading');
  assert.is(text.indexOf(DOCS_START, start + 1), -1, 'one section only');
  const next = text.indexOf('\n## ', heading + 1);
  assert.ok(text.indexOf(DOCS_END) < next, 'the section ends before the next heading');
});

const sample: StepDefinition<any> = {
  type: 'sample',
  description: 'Does a | thing.',
  with: {
    type: 'object',
    additionalProperties: false,
    required: ['a'],
    properties: {
      a: { type: 'string', description: 'First\nline.' },
      b: { enum: ['x', 'y'], default: 'x', description: 'Choice.' },
      c: { type: 'object', description: 'Nested.', properties: { d: { type: 'integer' } } },
      e: { const: true, description: 'Only true.' },
    },
  },
  impact: 'read',
  target: 'none',
  outputs: { out: { description: 'An output.' } },
  plan: () => ({ summary: '' }),
  run: async () => ({}),
};

test('fields: nested properties flattened, enum/const/default shown, missing descriptions found', () => {
  assert.equal(schemaFields(sample.with).map((f) => [f.name, f.type, f.required, f.default]), [
    ['a', 'string', true, undefined],
    ['b', '"x" or "y"', false, 'x'],
    ['c', 'object', false, undefined],
    ['c.d', 'integer', false, undefined],
    ['e', 'true', false, undefined],
  ]);
  assert.equal(undocumentedFields(sample), ['c.d']);
  const doc = renderStepDoc(sample);
  assert.match(doc, /^### `sample`\n\nDoes a \| thing\./);
  assert.match(doc, /\| `a` \| string \| yes \| {2}\| First line\. \|/, 'newlines and pipes cannot break the table');
  assert.match(doc, /\| `b` \| "x" or "y" \| no \| `"x"` \| Choice\. \|/);
  assert.match(doc, /Probed by `plan --probe`: no/);
  // A step's declared defaults are shown where its schema has none.
  const withDefaults = renderStepDoc({ ...sample, defaults: { a: 'z', e: true } });
  assert.match(withDefaults, /\| `a` \| string \| yes \| `"z"` \| First line\. \|/);
  assert.match(withDefaults, /\| `e` \| true \| no \| `true` \| Only true\. \|/);
});

test('replaceStepReference keeps everything outside the markers', () => {
  const before = `# t\n\n## Step reference\n\n${DOCS_START}\nold\n${DOCS_END}\n\n## Next\n`;
  const after = replaceStepReference(before, `${DOCS_START}\nnew\n${DOCS_END}`);
  assert.is(after, `# t\n\n## Step reference\n\n${DOCS_START}\nnew\n${DOCS_END}\n\n## Next\n`);
  assert.throws(() => replaceStepReference('# no markers\n', 'x'), /markers/);
});

test.run();
