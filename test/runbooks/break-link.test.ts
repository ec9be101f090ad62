// break-link.yml and cleanup.yml end to end on the lab: the link is gone on both sides, the
// missing first full backup on the MI stops the removal, and cleanup is safe to run twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, TestLab } from '../helpers/lab-run.js';

const isChange = (s: string) => /^\w+: (ALTER|BACKUP|DROP)\b/i.test(s);

test('break-link on healthy: LSNs stable, link deleted through ARM, DAG dropped, gone on both sides', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const run = await t.apply('break-link', { sets: FAST });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assert.ok(t.lab.link().replicas.sqlServer.agPresent, 'the AG is kept without dropAg');
    assert.equal(t.statements().filter(isChange), ['sqlServer: DROP AVAILABILITY GROUP [dag1]']);
    assert.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));
    assert.is(t.lab.ledger().lost, 0);
    // After a proven LSN wait, removing the link is a change, so no --allow-data-loss was needed.
    assert.match(run.stdout, /remove-link\s+armDeleteLink \[change\]/);
    assert.match(run.stdout, /Point the applications at sqlmi1\.lab\.database\.windows\.net/);
    // The databases are independent now: both sides take writes.
    assert.ok(t.lab.link().readWrite('sqlServer') && t.lab.link().readWrite('managedInstance'));
  } finally {
    await t.stop();
  }
});

test('break-link with dropAg on SQL Server 2019: the only way off 2019, AG dropped too', async () => {
  const t = await TestLab.start({ scenario: 'sql2019' });
  try {
    const run = await t.apply('break-link', { sets: [...FAST, 'dropAg=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assert.not.ok(t.lab.link().replicas.sqlServer.agPresent);
    assert.equal(t.statements().filter(isChange), ['sqlServer: DROP AVAILABILITY GROUP [dag1]', 'sqlServer: DROP AVAILABILITY GROUP [ag1]']);
  } finally {
    await t.stop();
  }
});

test('break-link refuses while the MI has no full backup, and changes nothing', async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { enabled: false } } });
  try {
    const run = await t.apply('break-link', { sets: FAST });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance: the managed instance has not taken its first full backup/);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));
    assert.not.ok(t.statements().some(isChange));
  } finally {
    await t.stop();
  }
});

test('break-link on workload-running: gives up at the LSN wait, the link stays', async () => {
  const t = await TestLab.start({ scenario: 'workload-running' });
  try {
    const run = await t.apply('break-link', { sets: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=800ms'] });
    assert.is(run.code, 1, run.stdout + run.stderr);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));
  } finally {
    await t.stop();
  }
});

test('cleanup twice after the link was removed on the MI: drops the DAG and AG once, the second run changes nothing', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    // What Remove-AzSqlInstanceLink leaves behind: the MI side is gone, SQL Server still has the DAG.
    t.lab.link().removeDag('managedInstance');
    const first = await t.apply('cleanup', { sets: ['dropAg=true'] });
    assert.is(first.code, 0, first.stdout + first.stderr);
    const afterFirst = t.statements();
    assert.equal(afterFirst.filter(isChange), ['sqlServer: DROP AVAILABILITY GROUP [dag1]', 'sqlServer: DROP AVAILABILITY GROUP [ag1]']);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assert.not.ok(t.lab.link().replicas.sqlServer.agPresent);

    const second = await t.apply('cleanup', { sets: ['dropAg=true'] });
    assert.is(second.code, 0, second.stdout + second.stderr);
    const secondRun = t.statements(afterFirst.length);
    assert.ok(secondRun.length > 0, 'the second run did read');
    assert.not.ok(secondRun.some((s) => /DROP/i.test(s)), `no DROP in the second run: ${secondRun.join(' | ')}`);
    assert.match(second.stdout, /Nothing was changed\./);
  } finally {
    await t.stop();
  }
});

test('cleanup refuses while the link is live on the MI', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const run = await t.apply('cleanup');
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step link-removed: The managed instance still has link dag1/);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    assert.not.ok(t.statements().some(isChange));
  } finally {
    await t.stop();
  }
});

test.run();
