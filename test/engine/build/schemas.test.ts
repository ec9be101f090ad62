// The build's validators count a string's length in UTF-16 code units only where that gives the
// same answers as counting characters (engine/build/schemas.ts): a schema with no maxLength and no
// minLength over 1. The shipped step validator still refuses an empty sqlExec script.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lengthsAgreeInCodeUnits } from '../../../engine/build/length-counting.js';
import { precompiledStepValidator } from '../../../engine/validate/schemas.js';

test('code units and characters agree only without maxLength and with minLength of at most 1', () => {
  assert.ok(lengthsAgreeInCodeUnits({ type: 'object', properties: { sql: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array' }] } } }));
  assert.ok(lengthsAgreeInCodeUnits({ type: 'string', minLength: 0 }));
  assert.not.ok(lengthsAgreeInCodeUnits({ properties: { name: { type: 'string', maxLength: 10 } } }), 'an emoji is one character, two code units');
  assert.not.ok(lengthsAgreeInCodeUnits({ items: [{ type: 'string', minLength: 2 }] }), 'one emoji: 1 character, 2 code units');
});

test('the built sqlExec validator counts by length and still refuses an empty script, takes a one-emoji one', () => {
  const validate = precompiledStepValidator('sqlExec')!;
  assert.ok(validate, 'built (npm run build)');
  assert.not.ok(validate({ sql: '', impact: 'read' }), 'empty');
  assert.ok(validate({ sql: '😀', impact: 'read' }), JSON.stringify(validate.errors));
});

test.run();
