import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import confirm, { messages } from '../../steps/confirm.js';
import type { Inventory } from '../../engine/core/types.js';
import { checkStepContract, planContext, rejection, stepHarness } from '../helpers/steps.js';

// confirm never opens a connection, so an inventory that points nowhere is enough.
const inventory = {
  link: {
    name: 'dag1',
    database: 'db1',
    sqlServer: { name: 's', agName: 'ag', connection: { host: '127.0.0.1', port: 9 } },
    managedInstance: { name: 'mi', resourceGroup: 'rg', subscriptionId: 'sub', tier: 'GeneralPurpose', connection: { host: '127.0.0.1', port: 9 } },
  },
  arm: { endpoint: 'https://127.0.0.1:9' },
} as Inventory;

test('contract: described schema, outputs and sentence-shaped messages', () => {
  checkStepContract(confirm, messages);
  assert.is(confirm.impact, 'read');
  assert.equal(confirm.withSchema.required, ['message']);
});

test('plan shows the message and the gate', () => {
  const plan = confirm.plan(planContext(inventory), { message: 'Stop the application on sql01.' });
  assert.is(plan.summary, 'Ask the operator: Stop the application on sql01.');
  assert.equal(plan.guards, ['Operator confirms (or --yes)']);
  const unknown = confirm.plan(planContext(inventory), { message: { unknown: true, from: 'inputs.x' } as never });
  assert.is(unknown.summary, 'Ask the operator: (known after apply)');
});

test('--yes passes without asking', async () => {
  const h = stepHarness(inventory, {});
  let asked = 0;
  const out = await h.run(confirm, { message: 'Stop the app' }, { assumeYes: true, confirm: async () => (asked++, false) });
  assert.equal(out, { confirmedBy: '--yes' });
  assert.is(asked, 0);
  assert.match(h.logs.info.join('\n'), /Confirmed by --yes: Stop the app\./);
  await h.close();
});

test('a non-interactive run without --yes refuses with exit 3', async () => {
  const h = stepHarness(inventory, {});
  const error = await rejection(() => h.run(confirm, { message: 'Stop the application.' }));
  assert.instance(error, StepRefusal);
  assert.is(error.exitCode, ExitCode.refused);
  assert.is(error.messageId, 'noOperator');
  assert.is(error.message, 'Confirmation needed but no one can be asked (no terminal): Stop the application; run interactively or pass --yes.');
  await h.close();
});

test('the operator is asked; yes passes, anything else refuses', async () => {
  const h = stepHarness(inventory, {});
  const questions: string[] = [];
  const yes = await h.run(confirm, { message: 'Stop the app' }, { confirm: async (q) => (questions.push(q), true) });
  assert.equal(yes, { confirmedBy: 'operator' });
  assert.equal(questions, ['Stop the app.']);
  const error = await rejection(() => h.run(confirm, { message: 'Stop the app.' }, { confirm: async () => false }));
  assert.instance(error, StepRefusal);
  assert.is(error.messageId, 'declined');
  assert.is(error.message, 'The operator did not confirm: Stop the app.');
  await h.close();
});

test('an interrupt while asking ends the step', async () => {
  const h = stepHarness(inventory, {});
  const controller = new AbortController();
  const pending = h.run(confirm, { message: 'Wait' }, {
    signal: controller.signal,
    confirm: () => new Promise((resolve) => controller.signal.addEventListener('abort', () => resolve(true))),
  });
  controller.abort(new Error('Interrupted.'));
  const error = await rejection(() => pending);
  assert.is(error.message, 'Interrupted.');
  await h.close();
});

test.run();
