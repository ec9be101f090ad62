// The comparison and link helpers the runbooks use: gt/gte/lt/lte (numbers; numeric text exactly,
// as BigInt), versionAtLeast (dotted ProductVersion), otherSide (sqlServer <-> managedInstance).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, renderTemplate, renderWhen } from '../../engine/template.js';

const ctx = {
  inputs: { keep: 'sqlServer' },
  steps: { v: { outputs: { first: { version: '16.0.4125.3' }, rowCount: 1 } } },
};

test('gt/gte/lt/lte compare numbers, and numeric text exactly (LSNs beyond 2^53)', () => {
  assert.is(renderWhen('{{gt steps.v.outputs.rowCount 0}}', ctx), true);
  assert.is(renderWhen('{{gt 0 0}}', ctx), false);
  assert.is(renderWhen('{{gte 0 0}}', ctx), true);
  assert.is(renderWhen('{{lt 1 2}}', ctx), true);
  assert.is(renderWhen('{{lte 3 2}}', ctx), false);
  // 71000009408100001 and 71000009408100002 are the same JS number; as text they compare exactly.
  assert.is(renderWhen("{{gt '71000009408100002' '71000009408100001'}}", ctx), true);
  assert.is(renderWhen("{{gt '1.5' 1}}", ctx), true);
  assert.throws(() => renderTemplate("{{gt 'abc' 1}}", ctx), /gt compares numbers, got "abc"/);
});

test('versionAtLeast compares dotted versions part by part', () => {
  assert.is(renderWhen("{{versionAtLeast steps.v.outputs.first.version '16.0.4125'}}", ctx), true);
  assert.is(renderWhen("{{versionAtLeast '16.0.4120.1' '16.0.4125'}}", ctx), false);
  assert.is(renderWhen("{{versionAtLeast '15.0.4312.2' '16.0.4125'}}", ctx), false);
  assert.is(renderWhen("{{versionAtLeast '17.0.1000.7' '16.0.4125'}}", ctx), true);
  assert.is(compareVersions('16.0', '16.0.0.0'), 0);
  assert.is(compareVersions('16.10', '16.9'), 1, 'numeric, not text, comparison');
  assert.throws(() => compareVersions('sixteen', '16'), /not a version/);
});

test('otherSide names the other side of the link', () => {
  assert.is(renderTemplate('{{otherSide inputs.keep}}', ctx), 'managedInstance');
  assert.is(renderTemplate("{{otherSide 'managedInstance'}}", ctx), 'sqlServer');
  assert.throws(() => renderTemplate("{{otherSide 'primary'}}", ctx), /otherSide needs sqlServer or managedInstance/);
});

test('deep reads into an output (a column of sqlExec\'s first row) render; a missing column is an error, never empty', () => {
  assert.is(renderTemplate('{{steps.v.outputs.first.version}}', ctx), '16.0.4125.3');
  assert.throws(() => renderTemplate('{{steps.v.outputs.first.nope}}', ctx), /is not defined/);
});

test.run();
