// assert: a pure gate; its run() reads nothing but its arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import { labInventory } from '../../lab/inventory.js';
import assertStep, { conditionValue, messages } from '../../steps/assert.js';
import { checkStepContract, planContext, rejection } from '../helpers/steps.js';
import type { StepRunContext } from '../../engine/step-api/types.js';

const ctx = {} as StepRunContext; // run() touches no context

test('contract: described schema, outputs and messages; read, no target', () => {
  checkStepContract(assertStep, messages);
  assert.is(assertStep.impact, 'read');
  assert.is(assertStep.target, 'none');
});

test('a true condition passes', async () => {
  assert.equal(await assertStep.run(ctx, { that: 'true', message: 'm' }), { passed: true });
  assert.equal(await assertStep.run(ctx, { that: ' TRUE\n', message: 'm' }), { passed: true });
  assert.equal(await assertStep.run(ctx, { that: true, message: 'm' }), { passed: true });
});

test('a false condition refuses (exit 3) with the runbook\'s message as a sentence', async () => {
  const error = await rejection(() => assertStep.run(ctx, { that: 'false', message: 'use break-link.yml instead' }));
  assert.instance(error, StepRefusal);
  assert.is(error.exitCode, ExitCode.refused);
  assert.is(error.message, 'Use break-link.yml instead.');
});

test('anything but true/false is a failure of the template, not a refusal', async () => {
  const error = await rejection(() => assertStep.run(ctx, { that: 'yes', message: 'm' }));
  assert.not.instance(error, StepRefusal);
  assert.match(error.message, /rendered to "yes", not true or false/);
  assert.is(conditionValue(''), undefined);
  assert.is(conditionValue(1), undefined);
});

test('plan: the message is the guard; an unknown condition says so', () => {
  const inventory = labInventory();
  const known = assertStep.plan(planContext(inventory), { that: 'true', message: 'Stop.' });
  assert.is(known.summary, 'Check the condition (true); refuse otherwise');
  assert.equal(known.guards, ['Refuses unless it holds: Stop.']);
  const later = assertStep.plan(planContext(inventory), { that: { unknown: true, from: 'steps.v.outputs.first' } as never, message: 'Stop.' });
  assert.is(later.summary, 'Check the condition (known after apply); refuse otherwise');
});

test.run();
