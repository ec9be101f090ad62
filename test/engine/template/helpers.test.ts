// The comparison and link helpers the runbooks use: gt/gte/lt/lte (numbers; numeric text exactly,
// as BigInt), versionAtLeast (dotted ProductVersion), otherSide (sqlServer <-> managedInstance).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, quoteIdent, quoteString, renderTemplate, renderWhen } from '../../../engine/template/render.js';

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

test('str keeps line breaks out of the script: NCHAR() concatenation, each part on one line; ident refuses them', () => {
  assert.is(quoteString("it's"), "N'it''s'");
  assert.is(quoteString('\nGO\n'), "(NCHAR(10) + N'GO' + NCHAR(10))");
  assert.is(quoteString("a'\r\nGO"), "(N'a''' + NCHAR(13) + NCHAR(10) + N'GO')");
  assert.is(quoteString('a\u2028b\u0085c'), "(N'a' + NCHAR(8232) + N'b' + NCHAR(133) + N'c')");
  for (const v of ['\nGO\n', 'a\r\nb', 'x\u2029']) assert.not.ok(/[\r\n\u0085\u2028\u2029]/.test(quoteString(v)));
  assert.is(renderTemplate('{{str inputs.v}}', { inputs: { v: 'x\nGO' } }), "(N'x' + NCHAR(10) + N'GO')");
  assert.throws(() => quoteIdent('dag1\nGO'), /ident: identifier contains a line break/);
  assert.throws(() => quoteIdent('dag1\r'), /line break/);
  assert.is(quoteIdent('a]b'), '[a]]b]');
});

test('and, or and not see truth as #if does: false, 0, "", null and an empty list are false', () => {
  const lists = { inputs: {}, steps: { r: { outputs: { none: [], some: ['sqlServer'], zero: 0, nothing: null } } } };
  for (const name of ['none', 'zero', 'nothing']) {
    const path = `steps.r.outputs.${name}`;
    assert.is(renderTemplate(`{{#if ${path}}}yes{{else}}no{{/if}}`, lists), 'no', path);
    assert.is(renderWhen(`{{not ${path}}}`, lists), true, path);
    assert.is(renderWhen(`{{and true ${path}}}`, lists), false, path);
    assert.is(renderWhen(`{{or false ${path}}}`, lists), false, path);
  }
  assert.is(renderTemplate('{{#unless steps.r.outputs.some}}none{{else}}some{{/unless}}', lists), 'some');
  assert.is(renderWhen('{{not steps.r.outputs.some}}', lists), false);
  assert.is(renderWhen('{{and true steps.r.outputs.some}}', lists), true);
});

test.run();
