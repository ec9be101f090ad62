// sqlServerVersion against the lab through the real mssql client: 2022 CU13, 2019, and a SQL
// Server that cannot be reached (unknown, or the version the runbook says to assume).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sqlServerVersion, { versionAtLeast } from '../../steps/sqlServerVersion.js';
import { rejection, stepHarness, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { withStartedLab } from '../helpers/lab.js';

stepTester.run(sqlServerVersion, {
  valid: [{}, { ifUnreachable: '' }, { ifUnreachable: '16.0.4135.4' }, { with: { ifUnreachable: '{{inputs.v}}' }, inputs: { v: { type: 'string', default: '' } } }],
  invalid: [
    { with: { ifUnreachable: 'latest' }, errors: [{ code: 'bad-value', path: '/with/ifUnreachable', message: 'does not match' }] },
    { with: {}, target: 'sqlServer', errors: [{ code: 'target-not-allowed', path: '/target' }] },
  ],
  plan: [
    {
      name: 'the query, and what happens when SQL Server cannot be reached',
      with: {},
      impact: 'read',
      summary: "Read SQL Server's version (T-SQL link failover needs 16.0.4125 or later)",
      sql: [{ target: 'sqlServer', text: /SERVERPROPERTY\('ProductVersion'\)/ }],
      guards: ['If SQL Server cannot be reached, the version is unknown'],
    },
    { with: { ifUnreachable: unknown('inputs.v') }, guards: ['If SQL Server cannot be reached, assumes version (known after apply)'] },
  ],
});

test('versions compare part by part (16.0.4125 is CU13; 17.x is later)', () => {
  assert.ok(versionAtLeast('16.0.4125.3', '16.0.4125'));
  assert.ok(versionAtLeast('16.0.4135.4', '16.0.4125'));
  assert.ok(versionAtLeast('17.0.1000.7', '16.0.4125'));
  assert.not.ok(versionAtLeast('16.0.4120.1', '16.0.4125'));
  assert.not.ok(versionAtLeast('15.0.4312.2', '16.0.4125'));
});

test('SQL Server 2022 CU13: read from the server, the link fails over with T-SQL', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const out = await h.run(sqlServerVersion, {});
    assert.equal(out, { version: '16.0.4125.3', source: 'server', known: true, reachable: true, linkFailover: true, major: 16 });
    assert.match(h.logs.info[0]!, /^SQL Server 16\.0\.4125\.3: the link can fail over with T-SQL/);
  });
});

test('SQL Server 2019: no T-SQL link failover; the message names the documented alternative', async () => {
  await withLabHarness({ scenario: 'sql2019' }, async (_lab, h) => {
    const out = await h.run(sqlServerVersion, { ifUnreachable: '16.0.4125.3' });
    assert.equal(out, { version: '15.0.4312.2', source: 'server', known: true, reachable: true, linkFailover: false, major: 15 });
    assert.match(h.logs.info[0]!, /removing it is the documented way to make the managed instance primary/);
  });
});

test('SQL Server unreachable: unknown without ifUnreachable, the given version with it (a warning either way)', async () => {
  await withLabHarness({ scenario: 'sql2019-primary-down' }, async (_lab, h) => {
    const unknownOut = await h.run(sqlServerVersion, {});
    assert.equal(unknownOut, { version: null, source: null, known: false, reachable: false, linkFailover: false, major: null });
    assert.match(h.logs.warn[0]!, /^SQL Server cannot be reached \(the TCP connection to localhost:\d+ was refused \(ECONNREFUSED\)\), so its version is unknown\.$/);
    const assumed = await h.run(sqlServerVersion, { ifUnreachable: '15.0.4312.2' });
    assert.equal(assumed, { version: '15.0.4312.2', source: 'assumed', known: true, reachable: false, linkFailover: false, major: 15 });
    assert.match(h.logs.warn[1]!, /assuming version 15\.0\.4312\.2 as given/);
    const bad = await rejection(() => h.run(sqlServerVersion, { ifUnreachable: 'soon' }));
    assert.is(bad.messageId, 'badVersion');
  });
});

test('a SQL Server that answers and refuses the login is not unreachable: the step fails, no version is assumed', () =>
  withStartedLab({ scenario: 'healthy' }, async (lab) => {
    const h = stepHarness(lab.inventory, { ...lab.env, LAB_SQL_PASSWORD: 'Wr0ng-Pa55word' });
    try {
      const error = await rejection(() => h.run(sqlServerVersion, { ifUnreachable: '16.0.4125.3' }));
      assert.match(error.message, /the login was refused/);
      assert.equal(h.logs.warn, []);
    } finally {
      await h.close();
    }
  }));

test.run();
