// confirm: the contract, with: blocks and plan() by the step tester; the gate itself through a harness.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import confirm from '../../steps/confirm.js';
import type { Inventory } from '../../engine/core/types.js';
import { rejection, stepHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';

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

stepTester.run(confirm, {
  valid: [{ message: 'Stop the application on sql01.' }, { message: 'Stop the application on {{link.sqlServer.name}}' }],
  invalid: [
    { name: 'message is required, and nothing else is', with: {}, errors: [{ code: 'missing-required', message: '`message`' }] },
    { with: { message: '' }, errors: [{ code: 'bad-value', path: '/with/message' }] },
    { with: { message: 5 }, errors: [{ code: 'wrong-type', path: '/with/message' }] },
    { with: { message: 'x', extra: 1 }, errors: [{ code: 'unknown-key', path: '/with/extra' }] },
    { with: { message: 'x' }, target: 'primary', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      with: { message: 'Stop the application on sql01.' },
      inventory,
      impact: 'read',
      summary: 'Ask the operator: Stop the application on sql01.',
      guards: ['Operator confirms (or --yes)'],
    },
    { with: { message: unknown('inputs.x') }, summary: 'Ask the operator: (known after apply)' },
  ],
});

test('--yes passes without asking', async () => {
  const h = stepHarness(inventory, {});
  let asked = 0;
  const before = Date.now();
  const out = await h.run(confirm, { message: 'Stop the app' }, { assumeYes: true, confirm: async () => (asked++, false) });
  assert.is(out.confirmedBy, '--yes');
  const at = Date.parse(out.confirmedAt as string);
  assert.ok(at >= before - 1 && at <= Date.now(), `confirmedAt ${out.confirmedAt} is when it passed`);
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
  assert.is(yes.confirmedBy, 'operator');
  assert.match(yes.confirmedAt as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(questions, ['Stop the app.']);
  const error = await rejection(() => h.run(confirm, { message: 'Stop the app.' }, { confirm: async () => false }));
  assert.instance(error, StepRefusal);
  assert.is(error.messageId, 'declined');
  assert.is(error.message, 'The operator did not confirm: Stop the app.');
  await h.close();
});

test('a question the operator answered before the run is not asked again; a different one is', async () => {
  const h = stepHarness(inventory, {});
  let asked = 0;
  const before = '2026-01-02T03:04:05.000Z';
  const answeredBefore = (q: string) => (q === 'Stop the app.' ? before : undefined);
  const out = await h.run(confirm, { message: 'Stop the app' }, { answeredBefore, confirm: async () => (asked++, false) });
  assert.equal(out, { confirmedBy: 'operator', confirmedAt: before });
  assert.is(asked, 0);
  assert.match(h.logs.info.join('\n'), /Confirmed by the operator before the run began: Stop the app\./);
  // Rendered differently at run time: the answer given before does not cover it.
  const error = await rejection(() => h.run(confirm, { message: 'Stop the other app' }, { answeredBefore, confirm: async () => (asked++, false) }));
  assert.is(asked, 1);
  assert.is(error.message, 'The operator did not confirm: Stop the other app.');
  await h.close();
});

test('asked again after a resume: the first confirmation\'s time is kept (the downtime runs from it), said in its log; a time the journal could not have kept is not', async () => {
  const h = stepHarness(inventory, {});
  const first = '2026-01-02T03:04:05.000Z';
  const again = await h.run(confirm, { message: 'Stop the app' }, { assumeYes: true, before: { confirmedBy: 'operator', confirmedAt: first } });
  assert.equal(again, { confirmedBy: '--yes', confirmedAt: first });
  assert.match(h.logs.info.join('\n'), `Confirmed again after the resume (by --yes); first confirmed at ${first}, before the run stopped`);
  // A hand-edited journal: a time in the future, or not a time the run writes, is ignored.
  for (const edited of [new Date(Date.now() + 3_600_000).toISOString(), 'yesterday', '2026-01-02', 7]) {
    const out = await h.run(confirm, { message: 'Stop the app' }, { assumeYes: true, before: { confirmedAt: edited } });
    assert.ok(out.confirmedAt !== edited && Date.parse(out.confirmedAt as string) <= Date.now(), `${String(edited)} -> ${String(out.confirmedAt)}`);
  }
  await h.close();
});

test('its question is the message as one sentence (what apply asks before the run)', () => {
  assert.is(confirm.question!({ message: 'Stop the app' }), 'Stop the app.');
  assert.is(confirm.question!({ message: '  Is it stopped?  ' }), 'Is it stopped?');
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
