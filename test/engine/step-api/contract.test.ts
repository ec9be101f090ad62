import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkStepDefinition } from '../../../engine/step-api/contract.js';
import { echoDef } from '../../fixtures/runbooks/steps.js';

test('a complete definition has no problems', () => {
  assert.equal(checkStepDefinition(echoDef, 'echo'), []);
});

test('each missing part is named', () => {
  const problems = checkStepDefinition({ type: 'x' }, 'x').join('\n');
  for (const part of ['description', 'impact', 'target', 'outputs', 'plan', 'run', 'withSchema']) assert.match(problems, `\`${part}`);
});

test('withSchema must be a closed object schema with described properties', () => {
  const problems = checkStepDefinition({ ...echoDef, withSchema: { type: 'array', properties: { a: { type: 'string' } } } }, 'e');
  assert.equal(problems.length, 3);
  assert.match(problems.join('\n'), 'type: object');
  assert.match(problems.join('\n'), 'additionalProperties: false');
  assert.match(problems.join('\n'), '`withSchema.a` needs a description');
  assert.equal(checkStepDefinition(null, 'n'), ['n: the default export must be a step definition object']);
  assert.match(checkStepDefinition({ ...echoDef, impact: 'sometimes' }, 'e').join(), 'impact');
});

test.run();
