// armSetRole with the real @azure/arm-sql client (setRole sent on its pipeline) against the lab
// (startLab): the link model's roles are the ground truth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition, { messages, setRoleImpact } from '../../steps/armSetRole.js';
import { StepFailure } from '../../engine/core/errors.js';
import { armStepContext, labWorldPerTest } from '../helpers/arm-step-context.js';

const lab = labWorldPerTest(test);

test('Primary + Planned is refused by ARM; the step fails with its code and nothing changes', async () => {
  const world = await lab();
  const err = await definition
    .run(armStepContext(world.inventory, world.env), { instanceRole: 'Primary', roleChangeType: 'Planned', pollInterval: '10ms' })
    .catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armRefused');
  assert.is((err as StepFailure).data.code, 'DistributedAvailabilityGroupSetRolePrimaryPlannedNotSupported');
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

test('impact: Forced to Primary is dataLoss, the rest is a change', () => {
  assert.is(setRoleImpact({ instanceRole: 'Primary', roleChangeType: 'Forced' }), 'dataLoss');
  assert.is(setRoleImpact({ instanceRole: 'Primary', roleChangeType: 'Planned' }), 'change');
  assert.is(setRoleImpact({ instanceRole: 'Secondary', roleChangeType: 'Forced' }), 'change');
  assert.is(setRoleImpact({ instanceRole: 'Secondary', roleChangeType: 'Planned' }), 'change');
  assert.is(setRoleImpact({ instanceRole: { unknown: true, from: 'x' } as never, roleChangeType: 'Planned' }), 'dataLoss');
});

test('plan: the summary says what it does', async () => {
  const world = await lab();
  const p = definition.plan({ stepId: 'demote', inventory: world.inventory }, { instanceRole: 'Secondary', roleChangeType: 'Forced' });
  assert.match(p.summary, /^SET ROLE of managed instance sqlmi1 to Secondary \(Forced\) in link dag1 on sqlmi1 \(rg-runbook-lab\/.*\) via ARM, polling every 5s$/);
  assert.match(p.guards![0], /^Demotes the managed instance to secondary/);
  const forced = definition.plan({ stepId: 'promote', inventory: world.inventory }, { instanceRole: 'Primary', roleChangeType: 'Forced' });
  assert.match(forced.guards![0], /^DATA LOSS: makes the managed instance primary/);
  const schema = definition.withSchema as { additionalProperties: boolean; required: string[]; properties: Record<string, { description?: string }> };
  assert.is(schema.additionalProperties, false);
  assert.equal(schema.required, ['instanceRole', 'roleChangeType']);
  for (const [name, prop] of Object.entries(schema.properties)) assert.ok(prop.description, name);
  for (const [id, text] of Object.entries(messages)) assert.ok(/^[A-Z].*\.$/s.test(text), `${id}: ${text}`);
});

test.run();
