// assert: a pure gate; its run() reads nothing but its arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import assertStep, { conditionValue } from '../../steps/assert.js';
import { rejection } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import type { StepRunContext } from '../../engine/step-api/types.js';

const ctx = {} as StepRunContext; // run() touches no context

stepTester.run(assertStep, {
  valid: [
    { that: true, message: 'Stop.' },
    { with: { that: '{{eq inputs.mode "safe"}}', message: 'Use break-link.yml instead.' }, inputs: { mode: { type: 'string', default: 'safe' } } },
  ],
  invalid: [
    { with: { that: 1, message: 'm' }, errors: [{ code: 'wrong-type', path: '/with/that' }] },
    { with: { that: true, message: '' }, errors: [{ code: 'bad-value', path: '/with/message' }] },
    { with: { that: true, message: 'm' }, target: 'sqlServer', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      with: { that: 'true', message: 'Stop.' }, impact: 'read', summary: 'Check the condition (true); refuse otherwise',
      guards: ['Goes on only if the condition holds; otherwise it stops with: Stop.'], check: (p) => assert.is(p.refusal, undefined),
    },
    {
      with: { that: unknown('steps.v.outputs.first'), message: 'Stop.', needs: 'SQL Server 2022 CU13 (16.0.4125) or later' },
      summary: 'Check for SQL Server 2022 CU13 (16.0.4125) or later; refuse otherwise', guards: ['Needs SQL Server 2022 CU13 (16.0.4125) or later'],
      check: (p) => assert.is(p.refusal, undefined, 'not decided while the condition waits for a run'),
    },
    // Decided by what is known now (inputs): the plan can already say it refuses, and with what.
    { with: { that: 'false', message: 'say where the backup goes' }, check: (p) => assert.is(p.refusal, 'Say where the backup goes.') },
  ],
});

test('a read with no target', () => {
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

test.run();
