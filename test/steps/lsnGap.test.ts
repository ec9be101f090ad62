// lsnGap against the lab through the real mssql client: in sync, behind by an exact LSN gap,
// and a primary that cannot be reached (reported, not an error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import lsnGap from '../../steps/lsnGap.js';
import { rejection, stepHarness, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { withStartedLab } from '../helpers/lab.js';

stepTester.run(lsnGap, {
  valid: [{ primary: 'sqlServer' }, { with: { primary: '{{inputs.from}}' }, inputs: { from: { type: 'string', default: 'managedInstance' } } }],
  invalid: [
    { with: { primary: 'primary' }, errors: [{ code: 'bad-value', path: '/with/primary', message: 'does not match' }] },
    { with: { primary: '{{inputs.p}}' }, errors: [{ code: 'undefined-variable', path: '/with/primary' }] },
    { with: { primary: 'sqlServer' }, target: 'sqlServer', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      name: 'the query for both sides as run() sends it: the link and database as its parameters, not spliced in',
      with: { primary: unknown('steps.roles.outputs.primary') },
      impact: 'read',
      summary: /primary \(known after apply\) on link \[dag1\]/,
      sql: [
        { target: 'sqlServer', text: [/^SELECT CAST\(drs\.end_of_log_lsn AS varchar\(30\)\)/, /ag\.name = @dag AND drs\.is_local = 1/], params: { dag: 'dag1', db: 'SalesDb' } },
        { target: 'managedInstance', text: /ag\.name = @dag AND drs\.is_local = 1/, params: { dag: 'dag1', db: 'SalesDb' } },
      ],
    },
  ],
});

test('a read with no target', () => {
  assert.is(lsnGap.impact, 'read');
  assert.is(lsnGap.target, 'none');
});

test('healthy: in sync, gap 0, nothing would be lost (info, not a warning)', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const out = await h.run(lsnGap, { primary: 'sqlServer' });
    assert.is(out.primaryReachable, true);
    assert.is(out.inSync, true);
    assert.is(out.gap, '0');
    assert.is(out.primaryLsn, '71000009408100001');
    assert.is(out.secondaryLsn, '71000009408100001');
    assert.equal(h.logs.warn, []);
    assert.match(h.logs.info[0], /has everything the primary sqlServer wrote \(LSN 71000009408100001\)/);
  });
});

test('secondary behind: exact gap (beyond 2^53), unsent log, a warning before anything acts', async () => {
  await withLabHarness({ scenario: 'primary-down', overrides: { faults: [] } }, async (lab, h) => {
    const out = await h.run(lsnGap, { primary: 'sqlServer' });
    const link = lab.link();
    assert.is(out.primaryLsn, link.replicas.sqlServer.endOfLog.toString());
    assert.is(out.secondaryLsn, link.replicas.managedInstance.hardened.toString());
    assert.is(BigInt(out.gap as string), link.replicas.sqlServer.endOfLog - link.replicas.managedInstance.hardened);
    assert.is(out.gap, '40000000');
    assert.is(out.unsentLogKb, '200');
    assert.is(out.inSync, false);
    assert.match(h.logs.warn[0], /^The secondary managedInstance is behind the primary sqlServer: LSN 71000009408100001 against 71000009448100001 \(gap 40000000\), 200 KB of log not sent yet\./);
    assert.is(out.report, h.logs.warn[0]);
  });
});

test("the MI as primary: its own AG row and SQL Server's partner row are not read as the link's; the gap and the unsent log are exact", async () => {
  await withLabHarness({ scenario: 'mi-primary' }, async (lab, h) => {
    const out = await h.run(lsnGap, { primary: 'managedInstance' });
    const link = lab.link();
    assert.is(out.primaryLsn, link.replicas.managedInstance.endOfLog.toString());
    assert.is(out.secondaryLsn, link.replicas.sqlServer.hardened.toString());
    assert.is(out.gap, '48000000', '30 transactions');
    assert.is(out.unsentLogKb, '240');
    assert.is(out.inSync, false);
  });
});

test('primary unreachable: reported as such, the secondary\'s last hardened LSN given', async () => {
  await withLabHarness({ scenario: 'primary-down' }, async (_lab, h) => {
    const out = await h.run(lsnGap, { primary: 'sqlServer' });
    assert.is(out.primaryReachable, false);
    assert.is(out.gap, null);
    assert.is(out.inSync, null);
    assert.is(out.secondaryLsn, '71000009408100001');
    assert.match(h.logs.warn[0], /^The primary sqlServer cannot be reached \(the TCP connection to localhost:\d+ was refused \(ECONNREFUSED\)\), so the gap cannot be measured\./);
  });
});

test('a primary that answers and refuses the login is not "unreachable": lsnGap fails rather than report a gap it cannot measure', () =>
  withStartedLab({ scenario: 'healthy' }, async (lab) => {
    const h = stepHarness(lab.inventory, { ...lab.env, LAB_SQL_PASSWORD: 'Wr0ng-Pa55word' });
    try {
      const error = await rejection(() => h.run(lsnGap, { primary: 'sqlServer' }));
      assert.match(error.message, /^Cannot connect to sqlServer at localhost:\d+: the login was refused/);
      assert.equal(h.logs.warn, [], 'no "cannot be reached" report');
    } finally {
      await h.close();
    }
  }));

test('secondary unreachable: a failure (a forced failover could not run there anyway)', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (lab, h) => {
    lab.setDown('managedInstance', true);
    const error = await rejection(() => h.run(lsnGap, { primary: 'sqlServer' }));
    assert.match(error.message, /^Cannot read the secondary managedInstance: /);
  });
});

test('a primary that is not a side is refused', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const error = await rejection(() => h.run(lsnGap, { primary: 'primary' }));
    assert.match(error.message, /Expected primary to be sqlServer or managedInstance, got primary/);
  });
});

test.run();
