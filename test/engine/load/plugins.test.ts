import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPluginDefinition } from '../../../engine/load/plugins.js';
import { validateRunbook } from '../../../engine/validate/runbook.js';
import { testSteps } from '../../fixtures/runbooks/steps.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'test', 'fixtures', 'runbooks');

test('a good plugin adds a step type, marked as a plugin', async () => {
  const r = await validateRunbook(join(dir, 'plugin-ok.yml'), { steps: testSteps });
  assert.equal(r.diagnostics, []);
  assert.ok(r.runbook);
  const def = (await r.steps!.shout!()).default;
  assert.ok(isPluginDefinition(def));
  assert.not.ok(isPluginDefinition((await testSteps.echo!()).default));
  assert.is(r.pluginFiles?.get('shout'), join(dir, 'plugins', 'shout.mjs'));
});

test('missing, throwing, malformed and shadowing plugins are diagnostics at their line', async () => {
  const r = await validateRunbook(join(dir, 'with-plugins.yml'), { steps: testSteps });
  const at = r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`);
  assert.ok(at.includes('plugin-not-found@5:5'), at.join(' '));
  assert.ok(at.includes('plugin-failed@6:5'), at.join(' '));
  assert.ok(at.includes('plugin-invalid@7:5'), at.join(' '));
  assert.ok(at.includes('plugin-shadows-builtin@8:5'), at.join(' '));
  // the good plugin still validates its step's with:
  assert.ok(at.includes('unknown-key@12:23'), at.join(' '));
  assert.match(r.diagnostics.find((d) => d.code === 'plugin-failed')!.message, 'plugin exploded on import');
  const invalid = r.diagnostics.filter((d) => d.code === 'plugin-invalid').map((d) => d.message).join('\n');
  assert.match(invalid, '`description`');
  assert.match(invalid, 'additionalProperties');
  assert.match(invalid, '`with.x` needs a description');
});

test.run();
