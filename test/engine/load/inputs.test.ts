import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkResolvedInputs, resolveInputs } from '../../../engine/load/inputs.js';
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

// Issue 9 attack, other notes: `specs[name]` found Object.prototype for `__proto__` ("must be a undefined").
test('__proto__, constructor and toString are unknown inputs, from --set and from a saved plan', () => {
  for (const name of ['__proto__', 'constructor', 'toString']) {
    const r = resolveInputs(runbook, ['reason=x', `${name}=y`]);
    assert.equal(r.diagnostics.map((d) => d.code), ['unknown-input'], name);
    assert.match(r.diagnostics[0]!.message, new RegExp(`^Unknown input \`${name}\`\\..* Inputs of rb: direction, force, count, ratio, reason \\(see runbook inputs .+\\)\\.$`));
  }
  const fromPlan = JSON.parse('{"__proto__": "x", "direction": "toSqlServer", "force": false, "count": 3, "ratio": 0.5, "reason": "r"}') as Record<string, unknown>;
  const problems = checkResolvedInputs(runbook, fromPlan, () => ({ file: 'plan.json', line: 2, column: 3 }));
  assert.equal(problems.map((d) => `${d.code}: ${d.message}`), ['unknown-input: Unknown input `__proto__`. Inputs of rb: direction, force, count, ratio, reason.']);
});

test.run();
