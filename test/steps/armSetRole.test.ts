// armSetRole with the real @azure/arm-sql client (setRole sent on its pipeline) against the lab
// (startLab): the link model's roles are the ground truth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armSetRole.js';
import { definitelyNotApplied, StepFailure } from '../../engine/core/errors.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { armStepContext, labWorldPerTest } from '../helpers/arm-step-context.js';

const lab = labWorldPerTest(test);

stepTester.run(definition, {
  valid: [{ instanceRole: 'Secondary', roleChangeType: 'Planned' }, { instanceRole: 'Primary', roleChangeType: 'Forced', pollInterval: '1s' }],
  invalid: [
    { with: { instanceRole: 'Primary' }, errors: [{ code: 'missing-required', path: '/with', message: '`roleChangeType`' }] },
    { with: { instanceRole: 'primary', roleChangeType: 'Forced' }, errors: [{ code: 'bad-enum', path: '/with/instanceRole' }] },
  ],
  plan: [
    {
      name: 'the summary says what it does',
      with: { instanceRole: 'Secondary', roleChangeType: 'Forced' },
      impact: 'change',
      summary: /^SET ROLE of managed instance sqlmi1 to Secondary \(Forced\) in link dag1 on sqlmi1 \(rg-runbook-lab\/.*\) via ARM, polling every 5s$/,
      guards: [/^Demotes the managed instance to secondary/, 'Never re-sent after an unclear answer without first reading the link state.'],
    },
    { with: { instanceRole: 'Primary', roleChangeType: 'Forced' }, impact: 'dataLoss', guards: [/^DATA LOSS: makes the managed instance primary/, /^Never re-sent/] },
  ],
  impact: [
    { with: { instanceRole: 'Primary', roleChangeType: 'Forced' }, impact: 'dataLoss' },
    { with: { instanceRole: 'Primary', roleChangeType: 'Planned' }, impact: 'change' },
    { with: { instanceRole: 'Secondary', roleChangeType: 'Forced' }, impact: 'change' },
    { with: { instanceRole: 'Secondary', roleChangeType: 'Planned' }, impact: 'change' },
    { with: { instanceRole: unknown('x'), roleChangeType: 'Planned' }, impact: 'dataLoss' },
  ],
});

test('definition: role and change type are required', () => {
  assert.equal(definition.with.required, ['instanceRole', 'roleChangeType']);
});

test('Primary + Planned is refused by ARM; the step fails with its code and nothing changes', async () => {
  const world = await lab();
  const err = await definition
    .run(armStepContext(world.inventory, world.env), { instanceRole: 'Primary', roleChangeType: 'Planned', pollInterval: '10ms' })
    .catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armRefused');
  assert.is((err as StepFailure).data.code, 'DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported');
  assert.ok(definitelyNotApplied(err), 'the answer to the POST itself: refused up front');
  assert.is(world.link()?.instanceLinkRole, 'Secondary');
  assert.is(world.requests().filter((r) => r.method === 'POST').length, 1);
});

test('Secondary works: the managed instance is demoted (here after a forced promotion)', async () => {
  const world = await lab();
  const promote = await definition.run(armStepContext(world.inventory, world.env), {
    instanceRole: 'Primary',
    roleChangeType: 'Forced',
    pollInterval: '10ms',
  });
  assert.is(promote.instanceLinkRole, 'Primary');
  assert.is(promote.primary, 'both', 'forcing the MI to primary while SQL Server still is primary is a split-brain');
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, { instanceRole: 'Secondary', roleChangeType: 'Planned', pollInterval: '10ms' });
  assert.equal(out, { instanceLinkRole: 'Secondary', partnerLinkRole: 'Primary', previousInstanceLinkRole: 'Primary', primary: 'sqlServer' });
  assert.is(world.link()?.instanceLinkRole, 'Secondary');
  assert.match(ctx.logs.progress.at(-1)!, /is now Secondary; SQL Server is Primary\.$/);
  assert.ok(ctx.logs.progress.some((m) => m.startsWith('Setting the managed instance role in link dag1 on sqlmi1') && m.includes('accepted')));
});

test('a long-running setRole that fails reports the ARM code', async () => {
  const world = await lab({ faults: [{ kind: 'armLroFails', op: 'setRole', code: 'OperationInterrupted', message: 'The operation was interrupted.' }] });
  const err = await definition
    .run(armStepContext(world.inventory, world.env), { instanceRole: 'Primary', roleChangeType: 'Forced', pollInterval: '10ms' })
    .catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armOperationFailed');
  assert.is((err as StepFailure).data.code, 'OperationInterrupted');
});

test.run();
