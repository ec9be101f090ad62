// The comparison and link helpers the runbooks use: gt/gte/lt/lte (numbers; numeric text exactly,
// as BigInt), versionAtLeast (dotted ProductVersion), otherSide (sqlServer <-> managedInstance).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, quoteIdent, quoteString, renderTemplate, renderWhen } from '../../../engine/template/render.js';
import { HELPERS, isHelper, isTrue, KNOWN_HELPERS } from '../../../engine/template/helpers.js';

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

const call = (name: string, ...args: unknown[]) => HELPERS[name]!.fn(...args);

test('ident and str take text, numbers, BigInts and booleans as text; anything else is refused by name and type', () => {
  assert.is(quoteIdent(7), '[7]');
  assert.is(quoteIdent(71000009408100001n), '[71000009408100001]');
  assert.is(quoteIdent(false), '[false]');
  assert.is(quoteString(1.5), "N'1.5'");
  assert.is(quoteString(12n), "N'12'");
  assert.is(quoteString(true), "N'true'");
  assert.throws(() => quoteIdent(null), /^ident needs a string, got null$/);
  assert.throws(() => quoteIdent(undefined), /^ident needs a string, got undefined$/);
  assert.throws(() => quoteString({}), /^str needs a string, got object$/);
  assert.throws(() => quoteString(['a']), /^str needs a string, got object$/);
});

test('ident: empty, longer than sysname (128 characters, counted as characters), NUL and line breaks are refused, each by its own message', () => {
  assert.throws(() => quoteIdent(''), /^ident of an empty string: an identifier cannot be empty$/);
  assert.is(quoteIdent('x'.repeat(128)), `[${'x'.repeat(128)}]`);
  assert.throws(() => quoteIdent('x'.repeat(129)), /^ident: identifier longer than 128 characters$/);
  // 128 characters outside the BMP are 256 UTF-16 units: still a valid sysname.
  assert.is(quoteIdent('\u{1F600}'.repeat(128)), `[${'\u{1F600}'.repeat(128)}]`);
  assert.throws(() => quoteIdent('a\0b'), /^ident: identifier contains a NUL character$/);
  assert.throws(() => quoteIdent('a\u2028b'), /^ident: identifier contains a line break$/);
  assert.throws(() => quoteString('a\0b'), /^str: text contains a NUL character$/);
  assert.is(quoteIdent('a]]b]'), '[a]]]]b]]]', 'every ], not only the first');
});

test('eq, ne, default, and, or, not: as their names say; the truth of #if', () => {
  assert.is(call('eq', 1, 1), true);
  assert.is(call('eq', 1, '1'), false, 'strict');
  assert.is(call('ne', 1, '1'), true);
  assert.is(call('ne', 'a', 'a'), false);
  for (const empty of [undefined, null, '']) assert.is(call('default', empty, 'fb'), 'fb', String(empty));
  for (const kept of [0, false, 'x', []]) assert.is(call('default', kept, 'fb'), kept, String(kept));
  assert.is(call('and', true, 1, 'x'), true);
  assert.is(call('and', true, 1, ''), false);
  assert.is(call('or', false, 0, [1]), true);
  assert.is(call('or', false, 0, []), false);
  assert.is(call('not', []), true);
  assert.is(call('not', [0]), false);
  assert.is(isTrue({}), true);
  assert.is(isTrue(0n), false);
});

test('comparisons: numbers, BigInts and numeric text (trimmed, signed, exact); everything else refused with the helper and the value', () => {
  assert.is(call('gt', 2, 1), true);
  assert.is(call('gt', 1, 2), false);
  assert.is(call('lt', 1, 2), true);
  assert.is(call('lt', 2, 2), false);
  assert.is(call('lte', 2, 2), true);
  assert.is(call('gte', 1, 2), false);
  assert.is(call('gt', 71000009408100002n, '71000009408100001'), true, 'BigInt against numeric text');
  assert.is(call('lt', ' -5 ', '-4'), true, 'trimmed and signed');
  assert.is(call('gte', '71000009408100001', '71000009408100001'), true);
  assert.is(call('gt', '71000009408100001', '71000009408100001'), false);
  assert.is(call('lt', '71000009408100001', '71000009408100002'), true);
  assert.is(call('gt', 2n, 1.5), true, 'BigInt against a number, as numbers');
  assert.is(call('lt', '1.5', 2n), true);
  assert.is(call('lte', 1.5, '1.5'), true);
  assert.is(call('gt', '1e3', 999), true, 'numeric text that is not an integer, as a number');
  // An LSN as text against a number: exact, not rounded to the number's precision (71000009408100000 is a double exactly).
  assert.is(call('gt', '71000009408100001', 71000009408100000), true);
  assert.is(call('lt', 71000009408100000, '71000009408100001'), true);
  assert.is(call('gt', ' 71000009408100002 ', '71000009408100001'), true, 'trimmed numeric text is still exact');
  assert.is(call('ident', 'a]b'), '[a]]b]');
  assert.is(call('str', "it's"), "N'it''s'");
  assert.throws(() => call('gte', Infinity, 1), /^gte compares numbers, got null$/, 'JSON of Infinity');
  assert.throws(() => call('lt', null, 1), /^lt compares numbers, got null$/);
  assert.throws(() => call('lte', 1, ' '), /^lte compares numbers, got " "$/);
  assert.throws(() => call('gt', 1, true), /^gt compares numbers, got true$/);
  assert.throws(() => call('gt', '12abc', 1), /got "12abc"/);
});

test('versionAtLeast: trimmed text or a number, part by part, missing parts 0; anything not a version is refused with the value', () => {
  assert.is(call('versionAtLeast', ' 16.0.4125 ', '16.0.4125'), true);
  assert.is(call('versionAtLeast', 16, '15.9'), true);
  assert.is(call('versionAtLeast', '16.0.4124.99', '16.0.4125'), false);
  assert.is(compareVersions('16.0.1', '16.0'), 1);
  assert.is(compareVersions('16.0', '16.0.1'), -1);
  assert.is(compareVersions('15.9', '16.0'), -1);
  assert.throws(() => compareVersions('16.0.', '16'), /^versionAtLeast: "16\.0\." is not a version such as 16\.0\.4125$/);
  assert.throws(() => compareVersions('16', 'v16'), /"v16" is not a version/);
  assert.throws(() => compareVersions('16', '16.0 CU13'), /"16\.0 CU13" is not a version/);
  assert.throws(() => compareVersions(null, '16'), /^versionAtLeast needs a string, got null$/);
  assert.throws(() => call('otherSide', 'Primary'), /^otherSide needs sqlServer or managedInstance, got "Primary"$/);
});

test('each helper takes the number of arguments validate checks; only own names are helpers', () => {
  const counts = Object.fromEntries(Object.entries(HELPERS).map(([name, h]) => [name, [h.min, h.max]]));
  assert.equal(counts, {
    ident: [1, 1], str: [1, 1], eq: [2, 2], ne: [2, 2], and: [2, Infinity], or: [2, Infinity], not: [1, 1], default: [2, 2],
    gt: [2, 2], gte: [2, 2], lt: [2, 2], lte: [2, 2], versionAtLeast: [2, 2], otherSide: [1, 1],
  });
  assert.equal([...KNOWN_HELPERS], Object.keys(HELPERS));
  assert.ok(isHelper('str'));
  assert.not.ok(isHelper('toString'), 'inherited names are not helpers');
  assert.not.ok(isHelper('lookup'));
});

test.run();
