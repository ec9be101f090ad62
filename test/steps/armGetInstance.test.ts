// armGetInstance with the real @azure/arm-sql client's pipeline against the lab: the managed
// instance's update policy (databaseFormat, api-version 2025-01-01) and whether it can fail back to
// a given SQL Server; a wrong managed instance is a failure, not a policy.
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import definition from '../../steps/armGetInstance.js';
import { StepFailure } from '../../engine/core/errors.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { armStepContext, azureModulesLoadedBy, labWorldPerTest } from '../helpers/arm-step-context.js';
import { updatePolicyOf } from '../../steps/support/arm-link.js';

const lab = labWorldPerTest(test);

stepTester.run(definition, {
  valid: [{}, { sqlServerVersion: '16.0.4125.3' }, { with: { sqlServerVersion: '{{inputs.v}}' }, inputs: { v: { type: 'string', default: '16.0.4125.3' } } }],
  invalid: [
    { with: { sqlServerVersion: 16 }, errors: [{ code: 'wrong-type', path: '/with/sqlServerVersion' }] },
    { with: { databaseFormat: 'SQLServer2022' }, errors: [{ code: 'unknown-key', path: '/with/databaseFormat' }] },
    { with: {}, target: 'managedInstance', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      with: {},
      impact: 'read',
      summary: 'GET managed instance sqlmi1 (rg-runbook-lab/00000000-0000-4000-8000-00000000ab01) via ARM (api-version 2025-01-01): its update policy',
      guards: null,
    },
    {
      with: { sqlServerVersion: unknown('steps.sql-version.outputs.first.version') },
      summary: /its update policy; compared with SQL Server \(known after apply\)$/,
    },
  ],
});

test('update policies: the spec spelling, the docs spelling, and what each can fail back to', () => {
  assert.equal(updatePolicyOf('SQLServer2022'), { databaseFormat: 'SQLServer2022', policy: 'SQL Server 2022', failBackMajor: 16 });
  assert.equal(updatePolicyOf('SqlServer2025'), { databaseFormat: 'SQLServer2025', policy: 'SQL Server 2025', failBackMajor: 17 });
  assert.equal(updatePolicyOf('AlwaysUpToDate').failBackMajor, null);
  assert.equal(updatePolicyOf('SomethingNew'), { databaseFormat: 'SomethingNew', policy: 'unknown (SomethingNew)', failBackMajor: null });
  assert.equal(updatePolicyOf(undefined).failBackMajor, null);
});

test('SQL Server 2022 policy: matches SQL Server 2022, not 2019 or 2025', async () => {
  const world = await lab();
  const ctx = armStepContext(world.inventory, world.env);
  const out = await definition.run(ctx, { sqlServerVersion: '16.0.4125.3' });
  assert.equal(out, { databaseFormat: 'SQLServer2022', updatePolicy: 'SQL Server 2022', failBackMajor: 16, matchesSqlServer: true });
  assert.match(ctx.logs.info.join('\n'), /^Managed instance sqlmi1: update policy SQL Server 2022 \(databaseFormat SQLServer2022\); it can fail back to SQL Server 16\.0\.4125\.3\.$/);
  assert.is((await definition.run(ctx, { sqlServerVersion: '17.0.1000.7' })).matchesSqlServer, false);
  assert.is((await definition.run(ctx, {})).matchesSqlServer, null);
  const requests = world.requests();
  assert.ok(requests.every((r) => r.method === 'GET' && /\/managedInstances\/sqlmi1$/.test(r.path)), JSON.stringify(requests));
});

test('Always-up-to-date: cannot fail back to any SQL Server', async () => {
  const world = await lab({ managedInstance: { databaseFormat: 'AlwaysUpToDate' } });
  const out = await definition.run(armStepContext(world.inventory, world.env), { sqlServerVersion: '16.0.4125.3' });
  assert.equal(out, { databaseFormat: 'AlwaysUpToDate', updatePolicy: 'Always-up-to-date', failBackMajor: null, matchesSqlServer: false });
});

test('a managed instance the inventory names wrongly fails with the ARM code', async () => {
  const world = await lab();
  const inventory = { ...world.inventory, link: { ...world.inventory.link, managedInstance: { ...world.inventory.link.managedInstance, name: 'other-mi' } } };
  const err = await definition.run(armStepContext(inventory, world.env), {}).catch((e: Error) => e);
  assert.instance(err, StepFailure);
  assert.is((err as StepFailure).data.code, 'ResourceNotFound');
});

test('importing the step module loads no @azure package (validate and plan stay driver-free)', async () => {
  const result = await azureModulesLoadedBy(fileURLToPath(new URL('../../steps/armGetInstance.js', import.meta.url)));
  assert.is(result.error, undefined, result.error);
  assert.equal(result.loaded, []);
});

test.run();
