// armGetLink with the real @azure/arm-sql client against the lab (startLab): the link as the
// managed instance reports it (new api-version), exact LSN text, and a missing link.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armGetLink.js';
import { StepFailure } from '../../engine/core/errors.js';
import { stepTester } from '../helpers/step-tester.js';
import { armStepContext, startLabWorld, type ArmWorld } from '../helpers/arm-step-context.js';

let world: ArmWorld;
test.before(async () => {
  world = await startLabWorld();
});
test.after(async () => world.stop());

stepTester.run(definition, {
  valid: [{}, { mustExist: true }],
  invalid: [{ with: { mustExist: 'yes' }, errors: [{ code: 'wrong-type', path: '/with/mustExist' }] }],
  plan: [
    { with: {}, impact: 'read', summary: /^GET link dag1 on sqlmi1 \(rg-runbook-lab\/.*\) via ARM \(api-version 2025-01-01\)$/, guards: null },
    { with: { mustExist: true }, guards: ['Needs the link to exist.'] },
  ],
});

test('definition: a read with no target, and the outputs a runbook reads', () => {
  assert.is(definition.impact, 'read');
  assert.is(definition.target, 'none');
  for (const name of ['exists', 'instanceLinkRole', 'partnerLinkRole', 'replicationMode', 'instanceAvailabilityGroupName', 'partnerAvailabilityGroupName', 'lastHardenedLsn', 'databases']) {
    assert.ok(definition.outputs[name]?.description, `output ${name}`);
  }
});

test('reads roles, replication mode and exact LSN text through the new api-version', async () => {
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, {});
  assert.is(out.exists, true);
  assert.is(out.instanceLinkRole, 'Secondary');
  assert.is(out.partnerLinkRole, 'Primary');
  assert.is(out.replicationMode, 'Async');
  assert.is(out.failoverMode, 'Manual');
  assert.is(out.primary, 'sqlServer');
  // The link's members are availability groups: SQL Server's and the MI side's.
  assert.is(out.partnerAvailabilityGroupName, 'ag1');
  assert.is(out.instanceAvailabilityGroupName, 'sqlmi1');
  // 71000009408100001 > 2^53: as a JS number it would read ...100000.
  assert.is(out.lastHardenedLsn, '71000009408100001');
  assert.not.equal(String(Number(out.lastHardenedLsn)), out.lastHardenedLsn);
  const dbs = out.databases as Array<Record<string, unknown>>;
  assert.is(dbs.length, 1);
  assert.is(dbs[0].databaseName, 'SalesDb');
  assert.is(dbs[0].lastHardenedLsn, '71000009408100001');
  assert.is(dbs[0].synchronizationHealth, 'HEALTHY');
  assert.match(ctx.logs.progress[0], /^Link dag1 on sqlmi1 .*: managed instance Secondary, SQL Server Primary, replication Async, last hardened LSN 71000009408100001\.$/);
  const gets = world.requests().filter((r) => r.method === 'GET');
  assert.ok(gets.length >= 1);
  assert.ok(world.requests().every((r) => r.method === 'GET'), 'a read sends only GETs');
});

test('failoverMode: None as ARM says it, and a link that does not show the property counts as None', async () => {
  for (const [mode, expected] of [['None', 'None'], ['absent', 'None'], ['Manual', 'Manual']] as const) {
    const w = await startLabWorld({ arm: { failoverMode: mode } });
    try {
      const out = await definition.run(armStepContext(w.inventory, w.env), {});
      assert.is(out.failoverMode, expected, mode);
    } finally {
      await w.stop();
    }
  }
});

test('a missing link is exists: false, not a failure', async () => {
  const inventory = { ...world.inventory, link: { ...world.inventory.link, name: 'no_such_link' } };
  const ctx = armStepContext(inventory, world.env);
  const out = await definition.run(ctx, {});
  assert.equal(out, {
    exists: false,
    instanceLinkRole: null,
    partnerLinkRole: null,
    replicationMode: null,
    failoverMode: null,
    instanceAvailabilityGroupName: null,
    partnerAvailabilityGroupName: null,
    primary: 'none',
    lastHardenedLsn: null,
    databases: [],
  });
  assert.match(ctx.logs.progress.join('\n'), /does not exist on the managed instance\./);
});

test('mustExist: a missing link fails the step with the ARM code', async () => {
  const inventory = { ...world.inventory, link: { ...world.inventory.link, name: 'no_such_link' } };
  const err = await definition.run(armStepContext(inventory, world.env), { mustExist: true }).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'linkMissing');
  assert.is((err as StepFailure).data.code, 'ResourceNotFound');
});

test('a wrong managed instance is a failure even without mustExist (not "link missing")', async () => {
  const mi = { ...world.inventory.link.managedInstance, name: 'other-mi' };
  const inventory = { ...world.inventory, link: { ...world.inventory.link, managedInstance: mi } };
  const err = await definition.run(armStepContext(inventory, world.env), {}).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'instanceMissing');
  assert.is((err as StepFailure).data.code, 'ParentResourceNotFound');
});

test('a wrong token fails clearly without the token in the message', async () => {
  const wrong = 'bad-token-for-get-555';
  const err = await definition.run(armStepContext(world.inventory, { ...world.env, LAB_ARM_TOKEN: wrong }), {}).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).messageId, 'armAuthFailed');
  assert.match((err as Error).message, /Check the token in LAB_ARM_TOKEN \(arm\.tokenEnv in the inventory\), or sign in again\.$/);
  assert.not.match((err as Error).message, wrong);
});

test.run();
