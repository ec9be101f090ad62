// break-link.yml and cleanup.yml end to end on the lab: the link is gone on both sides, the
// managed instance's first full backup counts only when it was taken after the change that made
// its database writable (the run's own removal of the link, or an earlier failover), and cleanup
// is safe to run twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST, TestLab } from '../helpers/lab-run.js';

const isChange = (s: string) => /^\w+: (ALTER|BACKUP|DROP)\b/i.test(s);

test("break-link on healthy: LSNs stable, link deleted through ARM, DAG dropped, gone on both sides, then the MI's first full backup after the removal", async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 800 } } });
  try {
    const run = await t.apply('break-link', { sets: FAST });
    assert.is(run.code, 0, run.stdout + run.stderr);
    // Only a full backup taken after this run's own change counts, not the hour-old one from before.
    const del = t.lab.armRequests().find((r) => r.method === 'DELETE')!;
    const found = /Found a full backup \(not copy-only\) of database SalesDb on managedInstance, started (\S+) and finished/.exec(run.stdout);
    assert.ok(found, run.stdout);
    assert.ok(Date.parse(`${found![1]}Z`) >= del.at.getTime() - 1000, `the backup found started ${found![1]}, the DELETE was sent at ${del.at.toISOString()}`);
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

test("break-link when the MI takes no full backup after the removal: the link is removed, but the run does not call the migration done (exit 4)", async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 60_000 } } });
  try {
    const run = await t.apply('break-link', { sets: [...FAST, 'backupTimeout=400ms'] });
    assert.is(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance started since .* after waiting 400ms: the link is removed, but the managed instance has not finished its first full backup since/);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
  } finally {
    await t.stop();
  }
});

test('break-link with the MI already primary: refused unless told when it became primary; then only a full backup since counts', async () => {
  const t = await TestLab.start({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 300 } } });
  try {
    // An earlier planned failover that kept the link (the lab's model, as FAILOVER leaves it).
    t.lab.link().setReplication({});
    t.lab.link().modes.sqlServer = 'SYNCHRONOUS_COMMIT';
    t.lab.link().modes.managedInstance = 'SYNCHRONOUS_COMMIT';
    t.lab.link().plannedFailover();
    const refused = await t.apply('break-link', { sets: FAST });
    assert.is(refused.code, 3, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /refused at step mi-primary-since-given: The managed instance is already the primary of link dag1/);

    // A time after the MI's first full backup since the failover: no backup since then, none awaited long enough.
    const later = new Date(Date.now() + 3_600_000).toISOString().replace('Z', '');
    const tooLate = await t.apply('break-link', { sets: [...FAST, `miPrimarySince=${later}`, 'backupTimeout=200ms'] });
    assert.is(tooLate.code, 3, tooLate.stdout + tooLate.stderr);
    assert.match(tooLate.stderr, /refused at step full-backup-since-failover: No full backup \(not copy-only\) of database SalesDb on managedInstance started since/);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
    assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));

    const since = new Date(Date.now() - 60_000).toISOString().replace('Z', '');
    const run = await t.apply('break-link', { sets: [...FAST, `miPrimarySince=${since}`, 'backupTimeout=5s'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.linkPresent(), { sqlServer: false, managedInstance: false });
    assert.match(run.stdout, /first-full-backup\s+assertBackup \[read\]\s+SKIPPED|first-full-backup .*skipped|first-full-backup.*-> false/);
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
