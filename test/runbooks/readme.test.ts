// The README's "Runbooks" section shows a real inventory and excerpts of `runbook plan` output.
// These tests keep both honest: the inventory is the fixture the plan tests use, and every chunk of
// an excerpt (chunks are separated by a line `...`) appears verbatim, in order, in what
// `runbook plan` prints now. A step whose output changed makes this fail until the README is
// regenerated.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { root, runCli } from '../helpers/cli.js';

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
  assert.match(planExcerpts[0].body, /failover  sqlExec -> primary/);
  assert.match(planExcerpts[1].body, /FORCE_FAILOVER_ALLOW_DATA_LOSS/);
});

for (const [index, runbook] of [[0, 'planned-failover'], [1, 'forced-failover']] as const) {
  test(`every chunk of the ${runbook} excerpt is what runbook plan prints now, in order`, async () => {
    const r = await runCli(['plan', `runbooks/${runbook}.yml`, '-i', INVENTORY]);
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

test.run();
