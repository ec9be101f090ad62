import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closest, diag, hasErrors, InputError, levenshtein } from '../../../engine/core/diagnostics.js';
import { renderDiagnosticsJson, renderDiagnosticsText } from '../../../engine/ui/diagnostics.js';

const source = 'name: x\nsteps:\n  - id: a\n    type: ecoh\n';
const d = diag('unknown-step-type', 'Unknown step type `ecoh`. Did you mean `echo`?', { file: 'rb.yml', line: 4, column: 11, path: '/steps/0/type' });

test('text: one line per problem, the source line, a caret under the column', () => {
  const text = renderDiagnosticsText([d], new Map([['rb.yml', source]]), { color: false });
  assert.is(text, [
    'rb.yml:4:11: error unknown-step-type: Unknown step type `ecoh`. Did you mean `echo`?',
    '      type: ecoh',
    '            ^',
    '',
  ].join('\n'));
});

test('text: colour only when asked; no source means no caret', () => {
  assert.match(renderDiagnosticsText([d], new Map([['rb.yml', source]]), { color: true }), '\x1b[');
  assert.is(renderDiagnosticsText([d], new Map(), { color: false }).split('\n').length, 2);
});

test('json carries the same data', () => {
  assert.equal(JSON.parse(renderDiagnosticsJson([d])), [d]);
});

test('helpers', () => {
  assert.ok(hasErrors([d]));
  assert.not.ok(hasErrors([diag('x', 'y', { file: 'f', line: 1, column: 1 }, { severity: 'warning' })]));
  assert.equal(new InputError([d]).diagnostics, [d]);
  assert.is(levenshtein('ecoh', 'echo'), 1);
  assert.is(closest('sqlexec', ['sqlExec', 'assertRole']), 'sqlExec');
  assert.is(closest('zzz', ['sqlExec']), undefined);
});

test.run();
