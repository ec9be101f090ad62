// The README's "Runbooks" section shows a real inventory and excerpts of `runbook plan` output.
// These tests keep both honest: the inventory is the fixture the plan tests use, and every chunk of
// an excerpt (chunks are separated by a line `...`) appears verbatim, in order, in what
// `runbook plan` prints now. A step whose output changed makes this fail until the README is
// regenerated.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HELPERS } from '../../engine/template/helpers.js';
import { root, runInProcess, tempDir } from '../helpers/cli.js';

const INVENTORY = 'test/fixtures/runbooks/e2e/contoso-inventory.yml';
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a "## ${title}" section`);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced blocks of a section, with the language tag of each. */
function blocks(text: string): Array<{ lang: string; body: string }> {
  const found: Array<{ lang: string; body: string }> = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) found.push({ lang: m[1], body: m[2] });
  return found;
}

const runbooksSection = section('Runbooks');
const planExcerpts = blocks(runbooksSection).filter((b) => b.lang === '' && /^\s*\d+\. \S+  \S+/m.test(b.body));

test('the README walks through the same inventory the plan tests use', () => {
  const shown = blocks(runbooksSection).find((b) => b.lang === 'yaml' && /^link:/m.test(b.body));
  assert.ok(shown, 'an inventory in a yaml block');
  const fixture = yaml.load(readFileSync(join(root, INVENTORY), 'utf8'));
  assert.equal(yaml.load(shown!.body), fixture);
});

test('the README shows plan excerpts of the planned and the forced failover', () => {
  assert.is(planExcerpts.length, 2, 'two plan excerpts');
  assert.match(planExcerpts[0].body, /failover +sqlExec -> primary/);
  assert.match(planExcerpts[1].body, /FORCE_FAILOVER_ALLOW_DATA_LOSS/);
});

// The planned failover's excerpt is the compact plan (the default); the forced failover's is --full.
for (const [index, runbook, extra] of [[0, 'planned-failover', []], [1, 'forced-failover', ['--full']]] as const) {
  test(`every chunk of the ${runbook} excerpt is what runbook plan ${extra.join(' ')} prints now, in order`, async () => {
    const r = await runInProcess(['plan', `runbooks/${runbook}.yml`, '-i', INVENTORY, ...extra]);
    assert.is(r.code, 0, r.stderr);
    const chunks = planExcerpts[index].body
      .replace(/\n$/, '')
      .split(/^\.\.\.\n?/m)
      .map((c) => c.replace(/\n$/, ''))
      .filter((c) => c.trim() !== '');
    assert.ok(chunks.length >= 2, 'the excerpt has chunks');
    let from = 0;
    for (const chunk of chunks) {
      const at = r.stdout.indexOf(chunk, from);
      assert.ok(at >= 0, `README chunk not found (after offset ${from}) in the plan output:\n${chunk}\n--- plan output ---\n${r.stdout}`);
      from = at + chunk.length;
    }
  });
}

const formatSection = section('Runbook format');

test('Runbook format: its example runbook is valid, plans, and names every key the schema allows', async () => {
  const example = blocks(formatSection).find((b) => b.lang === 'yaml');
  assert.ok(example, 'an example runbook');
  const dir = tempDir('runbook-readme-format-');
  const file = join(dir, 'example.yml');
  writeFileSync(file, example!.body);
  const validated = await runInProcess(['validate', file]);
  assert.is(validated.code, 0, validated.stderr);
  assert.is(validated.stderr, '', 'no warning either');
  const planned = await runInProcess(['plan', file, '--lab']);
  assert.is(planned.code, 0, planned.stderr);
  const schema = JSON.parse(readFileSync(join(root, 'schemas', 'runbook.schema.json'), 'utf8'));
  const step = schema.properties.steps.items;
  const keys = [
    ...Object.keys(schema.properties),
    ...Object.keys(schema.properties.inputs.additionalProperties.properties),
    ...Object.keys(step.properties),
    ...Object.keys(step.properties.retry.properties).map((k) => `retry.${k}`),
  ];
  for (const key of keys) assert.ok(formatSection.includes(`\`${key}\``) || formatSection.includes(`\`${key}:\``), `the section names \`${key}\``);
});

test('Runbook format: every template helper has a row with an example', () => {
  const rows = formatSection.split('\n').filter((l) => l.startsWith('| `'));
  for (const helper of Object.keys(HELPERS)) {
    const row = rows.find((l) => l.startsWith(`| \`${helper} `));
    assert.ok(row, `a row for ${helper}`);
    const example = row!.split(' | ')[2] ?? '';
    assert.ok(example.includes(helper), `${helper}'s example uses it: ${row}`);
  }
});

test('Runbook format: the VS Code settings parse and point at the generated schema, which the shipped runbooks name too', () => {
  const settings = blocks(formatSection).find((b) => b.lang === 'json');
  assert.ok(settings, 'a settings.json example');
  const mapped = Object.keys(JSON.parse(settings!.body)['yaml.schemas']);
  assert.equal(mapped, ['./schemas/runbook.full.schema.json']);
  const full = JSON.parse(readFileSync(join(root, mapped[0]!), 'utf8'));
  assert.match(full.$id, /^urn:runbook:schema:/, 'an $id that names the schema (no made-up host)');
  for (const name of ['planned-failover', 'forced-failover', 'split-brain', 'cleanup', 'break-link']) {
    const first = readFileSync(join(root, 'runbooks', `${name}.yml`), 'utf8').split('\n')[0];
    assert.is(first, '# yaml-language-server: $schema=../schemas/runbook.full.schema.json', name);
  }
});

test('the README tells a clone user to run npx runbook only from the clone\'s folder', () => {
  const paragraphs = readme.split(/\n\s*\n/);
  for (const [i, p] of paragraphs.entries()) {
    if (!/npx runbook/.test(p)) continue;
    // A code block of npx commands belongs to the paragraph before it.
    const context = p.startsWith('```') ? `${paragraphs[i - 1]}\n${p}` : p;
    assert.match(context, /the clone's folder/, `npx runbook without saying where it works:\n${p}`);
  }
});

test.run();
