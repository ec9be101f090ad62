// break-link.yml and cleanup.yml end to end on the lab: the link is gone on both sides, the
// missing first full backup on the MI stops the removal, and cleanup is safe to run twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FAST } from '../helpers/lab-run.js';
import { isChange, runbookCases } from '../helpers/runbook-cases.js';

const GONE = { sqlServer: false, managedInstance: false };
const KEPT = { sqlServer: true, managedInstance: true };

runbookCases([
  {
    name: 'break-link on healthy: LSNs stable, link deleted through ARM, DAG dropped, gone on both sides',
    runbook: 'break-link',
    set: FAST,
    expect: {
      exit: 0,
      link: GONE,
      sent: ['sqlServer: DROP AVAILABILITY GROUP [dag1]'],
      armWrites: ['DELETE dag1'],
      lost: 0,
      // After a proven LSN wait, removing the link is a change, so no --allow-data-loss was needed.
      stdout: [/remove-link\s+armDeleteLink \[change\]/, /Point the applications at sqlmi1\.lab\.database\.windows\.net/],
    },
    then(t) {
      assert.ok(t.lab.link().replicas.sqlServer.agPresent, 'the AG is kept without dropAg');
      // The databases are independent now: both sides take writes.
      assert.ok(t.lab.link().readWrite('sqlServer') && t.lab.link().readWrite('managedInstance'));
    },
  },
  {
    name: 'break-link with dropAg on SQL Server 2019: the only way off 2019, AG dropped too',
    scenario: 'sql2019',
    runbook: 'break-link',
    set: [...FAST, 'dropAg=true'],
    expect: { exit: 0, link: GONE, sent: ['sqlServer: DROP AVAILABILITY GROUP [dag1]', 'sqlServer: DROP AVAILABILITY GROUP [ag1]'] },
    then: (t) => assert.not.ok(t.lab.link().replicas.sqlServer.agPresent),
  },
  {
    name: 'break-link refuses while the MI has no full backup, and changes nothing',
    overrides: { miFullBackup: { enabled: false } },
    runbook: 'break-link',
    set: FAST,
    expect: {
      exit: 3,
      stderr: [/refused at step first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance: the managed instance has not taken its first full backup/],
      link: KEPT,
      armWrites: [],
      sent: [],
    },
  },
  {
    name: 'break-link on workload-running: gives up at the LSN wait, the link stays',
    scenario: 'workload-running',
    runbook: 'break-link',
    set: ['stableFor=300ms', 'pollInterval=50ms', 'lsnTimeout=800ms'],
    expect: { exit: 1, link: KEPT, armWrites: [] },
  },
  {
    name: 'cleanup twice after the link was removed on the MI: drops the DAG and AG once, the second run changes nothing',
    // What Remove-AzSqlInstanceLink leaves behind: the MI side is gone, SQL Server still has the DAG.
    arrange: (t) => {
      t.lab.link().removeDag('managedInstance');
    },
    runbook: 'cleanup',
    set: ['dropAg=true'],
    expect: { exit: 0, sent: ['sqlServer: DROP AVAILABILITY GROUP [dag1]', 'sqlServer: DROP AVAILABILITY GROUP [ag1]'], link: GONE },
    async then(t) {
      assert.not.ok(t.lab.link().replicas.sqlServer.agPresent);
      const afterFirst = t.statements();
      const second = await t.apply('cleanup', { sets: ['dropAg=true'] });
      assert.is(second.code, 0, second.stdout + second.stderr);
      const secondRun = t.statements(afterFirst.length);
      assert.ok(secondRun.length > 0, 'the second run did read');
      assert.not.ok(secondRun.some((s) => /DROP/i.test(s)), `no DROP in the second run: ${secondRun.join(' | ')}`);
      assert.not.ok(secondRun.some(isChange), `no change in the second run: ${secondRun.join(' | ')}`);
      assert.match(second.stdout, /Nothing was changed\./);
    },
  },
  {
    name: 'cleanup refuses while the link is live on the MI',
    runbook: 'cleanup',
    expect: { exit: 3, stderr: [/refused at step link-removed: The managed instance still has link dag1/], link: KEPT, sent: [] },
  },
]);

test.run();
