// Reading `with:` values: the one test for "known after apply" that plan, template and steps share.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { durationText, isUnknown, shown } from '../../../engine/step-api/args.js';
import { unknownValue } from '../../../engine/template/render.js';

test('isUnknown: only { unknown: true, from: <text> } is a value known after apply', () => {
  assert.ok(isUnknown(unknownValue('steps.before.outputs.primary')));
  assert.ok(isUnknown({ unknown: true, from: 'inputs.x' }));
  // A runbook's own data that happens to say `unknown: true` is data, not a marker.
  assert.not.ok(isUnknown({ unknown: true }));
  assert.not.ok(isUnknown({ unknown: true, from: 3 }));
  assert.not.ok(isUnknown({ unknown: 'yes', from: 'x' }));
  assert.not.ok(isUnknown(null));
  assert.not.ok(isUnknown('(known after apply)'));
});

test('shown and durationText print unknowns as (known after apply)', () => {
  assert.is(shown(unknownValue('inputs.t')), '(known after apply)');
  assert.is(shown({ unknown: true }), '{"unknown":true}');
  assert.is(durationText(unknownValue('inputs.t'), '30s'), '(known after apply)');
  assert.is(durationText(undefined, '90s'), '1m30s');
});

test.run();
