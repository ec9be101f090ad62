import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkStepDefinition } from '../../../engine/step-api/contract.js';
import { echoDef } from '../../fixtures/runbooks/steps.js';

test('a complete definition has no problems', () => {
  assert.equal(checkStepDefinition(echoDef, 'echo'), []);
});

test('each missing part is named', () => {
  const problems = checkStepDefinition({ type: 'x' }, 'x').join('\n');
  for (const part of ['description', 'impact', 'target', 'outputs', 'plan', 'run', 'with']) assert.match(problems, `\`${part}`);
});

test('with must be a closed object schema with described properties', () => {
  const problems = checkStepDefinition({ ...echoDef, with: { type: 'array', properties: { a: { type: 'string' } } } }, 'e');
  assert.equal(problems.length, 3);
  assert.match(problems.join('\n'), 'type: object');
  assert.match(problems.join('\n'), 'additionalProperties: false');
  assert.match(problems.join('\n'), '`with.a` needs a description');
  assert.equal(checkStepDefinition(null, 'n'), ['n: the default export must be a step definition object']);
  assert.match(checkStepDefinition({ ...echoDef, impact: 'sometimes' }, 'e').join(), 'impact');
});

test('a definition written before defineStep (withSchema) is told what the schema is called now', () => {
  const { with: schema, ...rest } = echoDef;
  const problems = checkStepDefinition({ ...rest, withSchema: schema }, 'old');
  assert.equal(problems, ['old: `with` must be the JSON Schema of `with:` (it was called `withSchema`; write the step with defineStep)']);
});

test('messages are templates, defaults an object, verify and probe functions', () => {
  const problems = checkStepDefinition({ ...echoDef, messages: { ok: 'Fine.', bad: 42 }, defaults: 'x', verify: true, probe: 'run' }, 'e');
  assert.equal(problems, [
    'e: message `bad` must be a template string',
    'e: `defaults` must be an object of `with:` property values',
    'e: `verify(ctx, args)` must be a function when given',
    'e: `probe(ctx, args)` must be a function when given',
  ]);
});

test.run();
