import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveInputs } from '../../../engine/load/inputs.js';
import type { Runbook } from '../../../engine/core/types.js';

const runbook: Runbook = {
  name: 'rb', description: 'd', file: 'rb.yml', steps: [],
  inputs: {
    direction: { type: 'string', enum: ['toManagedInstance', 'toSqlServer'], default: 'toManagedInstance' },
    force: { type: 'boolean', default: false },
    count: { type: 'integer', default: 3 },
    ratio: { type: 'number', default: 0.5 },
    reason: { type: 'string' },
  },
};
const codes = (sets: string[]) => resolveInputs(runbook, sets).diagnostics.map((d) => `${d.code}@${d.file}:${d.line}:${d.column}`);

test('defaults, coercion and enum', () => {
  const r = resolveInputs(runbook, ['reason=drill', 'force=true', 'count=7', 'ratio=1.25', 'direction=toSqlServer']);
  assert.equal(r.diagnostics, []);
  assert.equal(r.inputs, { direction: 'toSqlServer', force: true, count: 7, ratio: 1.25, reason: 'drill' });
  assert.equal(resolveInputs(runbook, ['reason=x=y']).inputs.reason, 'x=y');
  assert.is(resolveInputs(runbook, ['reason=']).inputs.reason, '');
});

test('problems point at the offending --set by its ordinal', () => {
  assert.equal(codes(['reason=x', 'directon=toSqlServer']), ['unknown-input@<command line>:1:2']);
  assert.match(resolveInputs(runbook, ['reason=x', 'directon=toSqlServer']).diagnostics[0]!.message, 'Did you mean `direction`?');
  assert.equal(codes(['reason=x', 'force=yes']), ['bad-input-value@<command line>:1:2']);
  assert.equal(codes(['count=1.5', 'reason=x']), ['bad-input-value@<command line>:1:1']);
  assert.equal(codes(['reason=x', 'direction=toMI']), ['bad-input-value@<command line>:1:2']);
  assert.equal(codes(['reason=x', 'oops']), ['bad-set@<command line>:1:2']);
  assert.equal(codes([]), ['missing-input@<command line>:1:1']);
});

test.run();
