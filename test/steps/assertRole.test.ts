import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import assertRole from '../../steps/assertRole.js';
import { rejection, stepHarness, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { withStartedLab } from '../helpers/lab.js';

stepTester.run(assertRole, {
  valid: [{ exactlyOnePrimary: true }, { primary: 'managedInstance', allowUnreachable: true }],
  invalid: [
    { name: 'exactlyOnePrimary and primary together', with: { exactlyOnePrimary: true, primary: 'sqlServer' }, errors: [{ code: 'bad-value', path: '/with' }] },
    { with: { primary: 'primary' }, errors: [{ code: 'bad-enum', path: '/with/primary' }] },
    { with: { exactlyOnePrimary: false }, errors: [{ code: 'bad-value', path: '/with/exactlyOnePrimary' }] },
    { with: {}, target: 'sqlServer', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      name: "the procedure's role query for both sides and the expectation",
      with: { exactlyOnePrimary: true },
      impact: 'read',
      summary: 'Check the roles of link [dag1] on both replicas',
      guards: ['Exactly one replica is primary (no split-brain)'],
      sql: [
        { target: 'sqlServer', text: [/^SELECT ag\.name AS link_name, rs\.role_desc AS link_role/, /rs\.is_local = 1 AND ag\.name = @link/], params: { link: 'dag1' } },
        { target: 'managedInstance' },
      ],
    },
    {
      with: { primary: unknown('steps.before.outputs.secondary'), allowUnreachable: true },
      guards: ['(known after apply) is the primary', 'An unreachable replica is tolerated'],
    },
  ],
});

test('a read-only guard with no target', () => {
  assert.is(assertRole.impact, 'read');
  assert.is(assertRole.target, 'none');
});

test('healthy: one primary; outputs name each side\'s role, the primary and the secondary', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    const out = await h.run(assertRole, { exactlyOnePrimary: true });
    assert.equal(out, { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY', primary: 'sqlServer', secondary: 'managedInstance', unreachable: [] });
    const named = await h.run(assertRole, { primary: 'sqlServer' });
    assert.is(named.primary, 'sqlServer');
    const roleQueries = lab.statements().filter((s) => /rs\.is_local = 1 AND ag\.name = @link/.test(s.statement));
    assert.equal(new Set(roleQueries.map((s) => s.side)), new Set(['sqlServer', 'managedInstance']));
  });
});

test('the wrong primary is refused with exit 3 and what each replica said', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const error = await rejection(() => h.run(assertRole, { primary: 'managedInstance' }));
    assert.instance(error, StepRefusal);
    assert.is(error.exitCode, ExitCode.refused);
    assert.is(error.messageId, 'wrongPrimary');
    assert.is(error.message, 'Expected managedInstance to be the primary of link dag1, but sqlServer says PRIMARY; managedInstance says SECONDARY.');
  });
});

test('split-brain: refused, naming both replicas', async () => {
  await withLabHarness({ scenario: 'split-brain' }, async (_lab, h) => {
    const error = await rejection(() => h.run(assertRole, { exactlyOnePrimary: true }));
    assert.instance(error, StepRefusal);
    assert.is(error.messageId, 'splitBrain');
    assert.is(error.message, 'Split-brain on link dag1: both replicas say PRIMARY (sqlServer says PRIMARY; managedInstance says PRIMARY).');
    const tolerant = await rejection(() => h.run(assertRole, { allowUnreachable: true }));
    assert.is(tolerant.messageId, 'splitBrain');
  });
});

test('primary down: refused by default, judged by the reachable replica with allowUnreachable', async () => {
  await withLabHarness({ scenario: 'primary-down' }, async (lab, h) => {
    const { port } = lab.endpoints.links[0].sqlServer;
    const error = await rejection(() => h.run(assertRole, { exactlyOnePrimary: true }));
    assert.instance(error, StepRefusal);
    assert.is(error.messageId, 'unreachable');
    assert.match(error.message, new RegExp(`sqlServer is unreachable \\(Cannot connect to sqlServer at localhost:${port}: `));
    assert.match(error.message, /managedInstance says SECONDARY\. Set allowUnreachable: true/);
    const out = await h.run(assertRole, { exactlyOnePrimary: true, allowUnreachable: true });
    assert.equal(out, { sqlServer: 'UNREACHABLE', managedInstance: 'SECONDARY', primary: 'sqlServer', secondary: 'managedInstance', unreachable: ['sqlServer'] });
  });
});

test('a refused login is not "unreachable", even with allowUnreachable: the step fails naming the replica and the login', () =>
  withStartedLab({ scenario: 'healthy' }, async (lab) => {
    const h = stepHarness(lab.inventory, { ...lab.env, LAB_SQL_PASSWORD: 'Wr0ng-Pa55word' });
    try {
      const error = await rejection(() => h.run(assertRole, { exactlyOnePrimary: true, allowUnreachable: true }));
      assert.not.instance(error, StepRefusal);
      assert.match(error.message, /^Cannot connect to sqlServer at localhost:\d+: the login was refused .*LAB_SQL_PASSWORD/);
    } finally {
      await h.close();
    }
  }));

test('no primary at all is refused', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    lab.link().replicas.sqlServer.role = 'SECONDARY';
    lab.model.bump();
    const error = await rejection(() => h.run(assertRole, {}));
    assert.is(error.messageId, 'noPrimary');
    assert.is(error.message, 'No replica is primary on link dag1 (sqlServer says SECONDARY; managedInstance says SECONDARY).');
  });
});

test('after it runs, primary/secondary are read again (the role cache is refreshed)', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    const ctx = h.context();
    assert.is(await ctx.resolveTarget('primary'), 'sqlServer');
    lab.link().replicas.sqlServer.role = 'SECONDARY';
    lab.link().replicas.managedInstance.role = 'PRIMARY';
    lab.model.bump();
    // Cached until something says roles may have changed.
    assert.is(await ctx.resolveTarget('primary'), 'sqlServer');
    const out = await h.run(assertRole, { primary: 'managedInstance' });
    assert.is(out.secondary, 'sqlServer');
    assert.is(await ctx.resolveTarget('primary'), 'managedInstance');
    assert.is(await ctx.resolveTarget('secondary'), 'sqlServer');
  });
});

test.run();
