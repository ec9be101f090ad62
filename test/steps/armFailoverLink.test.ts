// armFailoverLink with the real @azure/arm-sql client (and the failover it lacks, sent on its
// pipeline) against the lab (startLab): the link model's roles are the ground truth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armFailoverLink.js';
import { StepFailure } from '../../engine/core/errors.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { armStepContext, labWorldPerTest, setSyncOnBothSides } from '../helpers/arm-step-context.js';

const lab = labWorldPerTest(test);

stepTester.run(definition, {
  valid: [{ failoverType: 'Planned', expectInstanceRole: 'Primary' }, { failoverType: 'ForcedAllowDataLoss', pollInterval: '1s' }],
  invalid: [
    { with: { failoverType: 'Forced' }, errors: [{ code: 'bad-enum', path: '/with/failoverType' }] },
    { with: { failoverType: 'Planned', expectInstanceRole: 'primary' }, errors: [{ code: 'bad-enum', path: '/with/expectInstanceRole' }] },
  ],
  plan: [
    {
      with: { failoverType: 'Planned' },
      impact: 'change',
      summary: /^FAILOVER \(Planned\) link dag1 on sqlmi1 \(rg-runbook-lab\/.*\) via ARM, polling every 5s$/,
      guards: [/refuses a planned failover unless the secondary is synchronizing/, 'Never re-sent after an unclear answer without first reading the link state.'],
    },
    { with: { failoverType: 'ForcedAllowDataLoss' }, impact: 'dataLoss', guards: [/^DATA LOSS: a forced failover/, /^Never re-sent/] },
    { with: { failoverType: unknown('inputs.t') }, impact: 'dataLoss', guards: [/^DATA LOSS unless the failover type turns out to be Planned/, /^Never re-sent/] },
  ],
  impact: [
    { with: { failoverType: 'Planned' }, impact: 'change' },
    { with: { failoverType: 'ForcedAllowDataLoss' }, impact: 'dataLoss' },
    { with: { failoverType: unknown('inputs.t') }, impact: 'dataLoss' },
  ],
});

test('definition: the failover type is required; impact depends on it', () => {
  assert.equal(definition.with.required, ['failoverType']);
  assert.type(definition.impact, 'function');
});

test('Planned on a healthy, synchronized link swaps the roles', async () => {
  const world = await lab();
  await setSyncOnBothSides(world);
  assert.ok(world.link()?.synchronized, 'the link is synchronized before the failover');
  const ctx = armStepContext(world.inventory, world.env);
  let invalidated = 0;
  ctx.invalidateRoles = () => void invalidated++;
  const out = await definition.run(ctx, { failoverType: 'Planned', pollInterval: '10ms' });
  assert.equal(out, { instanceLinkRole: 'Primary', partnerLinkRole: 'Secondary', previousInstanceLinkRole: 'Secondary', primary: 'managedInstance' });
  const after = world.link();
  assert.is(after?.instanceLinkRole, 'Primary');
  assert.is(after?.partnerLinkRole, 'Secondary');
  assert.is(invalidated, 1, 'cached roles are dropped after a failover');
  assert.ok(ctx.logs.progress.some((m) => m.startsWith('Failover (Planned) of link dag1 on sqlmi1') && m.includes('accepted')));
  assert.match(ctx.logs.progress.at(-1)!, /done: managed instance Primary, SQL Server Secondary\.$/);
  const posts = world.requests().filter((r) => r.method === 'POST');
  assert.is(posts.length, 1);
  assert.match(posts[0].path, /\/distributedAvailabilityGroups\/dag1\/failover$/);
});

test('Planned when not synchronized (asynchronous commit) fails with the ARM error code and changes nothing', async () => {
  const world = await lab();
  assert.not.ok(world.link()?.synchronized);
  const err = await definition.run(armStepContext(world.inventory, world.env), { failoverType: 'Planned', pollInterval: '10ms' }).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).data.code, 'DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing');
  assert.match((err as Error).message, /^Azure reported that the fail over of link dag1 on sqlmi1 .* failed: DistributedAvailabilityGroupFailoverSecondariesNotSynchronizing \(Planned failover cannot be executed/);
  assert.is(world.link()?.instanceLinkRole, 'Secondary');
  assert.is(world.link()?.partnerLinkRole, 'Primary');
});

test('ForcedAllowDataLoss makes the managed instance primary', async () => {
  const world = await lab();
  const out = await definition.run(armStepContext(world.inventory, world.env), { failoverType: 'ForcedAllowDataLoss', pollInterval: '10ms' });
  assert.is(out.instanceLinkRole, 'Primary');
  assert.is(out.previousInstanceLinkRole, 'Secondary');
  assert.is(world.link()?.instanceLinkRole, 'Primary');
});

test('a 500 on the POST is not blindly re-sent: the link is read, then the request is sent again', async () => {
  const world = await lab({ faults: [{ kind: 'armStatus', op: 'failover', status: 500 }] });
  await setSyncOnBothSides(world);
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, { failoverType: 'Planned', pollInterval: '10ms' });
  assert.is(out.instanceLinkRole, 'Primary');
  const seq = world.requests().map((r) => `${r.method} ${r.status}`);
  const i = seq.indexOf('POST 500');
  const j = seq.indexOf('POST 202');
  assert.ok(i >= 0 && j > i && seq.slice(i + 1, j).includes('GET 200'), seq.join(', '));
  assert.ok(ctx.logs.progress.some((m) => m.includes('checking the link after HTTP 500 InternalServerError')));
});

test.run();
