// break-link.yml and cleanup.yml end to end on the lab: the link is gone on both sides, the
// managed instance's first full backup counts only when it was taken after the change that made
// its database writable (the run's own removal of the link, or an earlier failover), and cleanup
// is safe to run twice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { FAST, FAST_PLANNED } from '../helpers/lab-run.js';
import { isChange, runbookCases } from '../helpers/runbook-cases.js';

const GONE = { sqlServer: false, managedInstance: false };
const KEPT = { sqlServer: true, managedInstance: true };

runbookCases([
  {
    name: "break-link on healthy: LSNs stable, link deleted through ARM, DAG dropped, gone on both sides, then the MI's first full backup after the removal",
    overrides: { miFullBackup: { afterFailoverMs: 800 } },
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
    then(t, run) {
      // Only a full backup taken after this run's own change counts, not the hour-old one from before.
      const del = t.lab.armRequests().find((r) => r.method === 'DELETE')!;
      const found = /Found a full backup \(not copy-only\) of database SalesDb on managedInstance, started (\S+) and finished/.exec(run.stdout);
      assert.ok(found, run.stdout);
      assert.ok(Date.parse(`${found![1]}Z`) >= del.at.getTime() - 1000, `the backup found started ${found![1]}, the DELETE was sent at ${del.at.toISOString()}`);
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
    name: 'break-link when the MI takes no full backup after the removal: the link is removed, but the run does not call the migration done (exit 4)',
    overrides: { miFullBackup: { afterFailoverMs: 60_000 } },
    runbook: 'break-link',
    set: [...FAST, 'backupTimeout=400ms'],
    expect: {
      exit: 4,
      stderr: [/refused at step first-full-backup: No full backup \(not copy-only\) of database SalesDb on managedInstance started since .* after waiting 400ms: the link is removed, but the managed instance has not finished its first full backup since/],
      link: GONE,
    },
  },
  {
    name: 'break-link with the MI already primary: refused unless told when it became primary; then only a full backup since counts',
    overrides: { miFullBackup: { afterFailoverMs: 300 } },
    arrange: (t) => {
      // An earlier planned failover that kept the link (the lab's model, as FAILOVER leaves it).
      t.lab.link().setReplication({});
      t.lab.link().sqlServerModes.sqlServer = 'SYNCHRONOUS_COMMIT';
      t.lab.link().sqlServerModes.managedInstance = 'SYNCHRONOUS_COMMIT';
      t.lab.link().miReplicationMode = 'Sync';
      t.lab.link().plannedFailover();
    },
    runbook: 'break-link',
    set: FAST,
    expect: { exit: 3, stderr: [/refused at step mi-primary-since-given: The managed instance is already the primary of link dag1/], link: KEPT },
    async then(t) {
      // Attack 10, finding 3: a time still to come on the MI's clock is a wrong value (the old
      // runbook waited for a backup after it and refused only for want of one).
      const later = new Date(Date.now() + 3_600_000).toISOString().replace('Z', '');
      const tooLate = await t.apply('break-link', { sets: [...FAST, `miPrimarySince=${later}`, 'backupTimeout=200ms'] });
      assert.is(tooLate.code, 3, tooLate.stdout + tooLate.stderr);
      assert.match(tooLate.stderr, /refused at step full-backup-since-failover: The sinceServerTime value "[^"]+" is later than managedInstance's clock now/);
      assert.equal(t.linkPresent(), KEPT);
      assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));

      // Attack 10, finding 3: a date with no time reads as midnight, so the automatic full backup
      // from before the failover counted and the link was removed. Now it is refused.
      const today = new Date().toISOString().slice(0, 10);
      for (const value of [today, '2000-01-01']) {
        const dateOnly = await t.apply('break-link', { sets: [...FAST, `miPrimarySince=${value}`, 'backupTimeout=200ms'] });
        assert.ok(dateOnly.code !== 0, dateOnly.stdout + dateOnly.stderr);
        assert.match(dateOnly.stdout + dateOnly.stderr, new RegExp(`The sinceServerTime value "${value}" is not a time; use a date and time`));
        assert.equal(t.linkPresent(), KEPT);
        assert.not.ok(t.lab.armRequests().some((r) => r.method === 'DELETE'));
      }

      const since = new Date(Date.now() - 60_000).toISOString().replace('Z', '');
      const run = await t.apply('break-link', { sets: [...FAST, `miPrimarySince=${since}`, 'backupTimeout=5s'] });
      assert.is(run.code, 0, run.stdout + run.stderr);
      assert.equal(t.linkPresent(), GONE);
      assert.match(run.stdout, /first-full-backup\s+assertBackup \[read\]\s+SKIPPED|first-full-backup .*skipped|first-full-backup.*-> false/);
    },
  },
  {
    // Attack 12 F6 / attack 10 F6: planned-failover's "link kept" hint was not a command, and its
    // time (with a space) split into two words when pasted into a shell.
    name: "planned-failover that keeps the link prints a break-link command that a shell reads as one --set, and that command removes the link",
    overrides: { miFullBackup: { afterFailoverMs: 300 } },
    runbook: 'planned-failover',
    set: FAST_PLANNED,
    expect: { exit: 0, link: KEPT, roles: { managedInstance: 'PRIMARY' } },
    async then(t, run) {
      const hint = /run: (runbook apply runbooks\/break-link\.yml --set '[^']*') \(and this run's -i inventory\)/.exec(run.stdout.replace(/\s*\n\s*/g, ' '));
      assert.ok(hint, run.stdout);
      assert.match(run.stdout.replace(/\s*\n\s*/g, ' '), /by its own clock \(its local time with no zone, the clock msdb records its backups in/);
      // What a POSIX shell makes of the pasted command: its words.
      const words = execFileSync('sh', ['-c', `set -- ${hint[1]}; printf '%s\\n' "$@"`], { encoding: 'utf8' }).trimEnd().split('\n');
      assert.is(words.length, 5, words.join(' | '));
      assert.equal(words.slice(0, 4), ['runbook', 'apply', 'runbooks/break-link.yml', '--set']);
      assert.match(words[4], /^miPrimarySince=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/);
      const broken = await t.apply('break-link', { sets: [...FAST, words[4], 'backupTimeout=5s'] });
      assert.is(broken.code, 0, broken.stdout + broken.stderr);
      assert.equal(t.linkPresent(), GONE);
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
