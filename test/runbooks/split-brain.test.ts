// split-brain.yml end to end on the lab: for each value of keep, the demoted side is backed up
// first (statement order), one primary remains, and no demotion happens without a backup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { journalRecords } from '../helpers/fault-matrix.js';
import { runbookCases } from '../helpers/runbook-cases.js';

const SETS = ['stableFor=300ms', 'pollInterval=50ms'];
const BOTH_PRIMARY = { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' };
const url = 'https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak';

runbookCases([
  {
    name: 'keep=managedInstance: tail-log backup on SQL Server, then SQL Server demoted; MI the one primary',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/SalesDb-tail.trn'],
    expect: {
      exit: 0,
      roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' },
      sent: [
        // No WITH NORECOVERY: undocumented on an availability database, and the demotion follows.
        "sqlServer: BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/SalesDb-tail.trn'",
        'sqlServer: ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)',
      ],
      // No planned failover was needed.
      stdout: [/failover\s+sqlExec \[change\]\s+primary of after-demotion is '\w+'$/m, /Point the applications at sqlmi1\.lab\.database\.windows\.net/],
      link: { sqlServer: true, managedInstance: true },
    },
    then(t) {
      const backups = t.lab.link().backups.filter((b) => b.side === 'sqlServer');
      assert.equal(backups.map((b) => b.type), ['L']);
    },
  },
  {
    name: 'keep=sqlServer: copy-only backup on MI, then MI demoted through ARM setRole; SQL Server the one primary',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=sqlServer', `backupLocation=${url}`],
    expect: {
      exit: 0,
      roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' },
      sent: [`managedInstance: BACKUP DATABASE [SalesDb] TO URL = N'${url}' WITH COPY_ONLY`],
      armWrites: ['POST setRole'],
      stdout: [/Point the applications at localhost,\d+ \(SQL Server sql01/],
    },
    then(t) {
      const backup = t.lab.link().backups.find((b) => b.side === 'managedInstance' && b.isCopyOnly);
      assert.ok(backup, 'copy-only backup recorded on the MI');
      const setRole = t.lab.armRequests().filter((r) => /setRole/i.test(r.path) && r.method === 'POST');
      assert.is(setRole.length, 1, 'MI demoted through ARM');
      assert.ok(setRole[0].at.getTime() >= backup!.finish.getTime(), 'backup finished before the demotion was asked for');
    },
  },
  {
    name: 'no backup location and no skipBackup: refused before anything is changed',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance'],
    expect: { exit: 3, stderr: [/refused at step backup-location-given: Say where the backup of sqlServer goes/], sent: [], roles: BOTH_PRIMARY },
  },
  {
    // (assertBackup's own refusal, when msdb shows no backup from this run, is tested in test/steps/assertBackup.test.ts.)
    name: 'the backup fails: the run stops there and nothing is demoted',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=sqlServer', 'backupLocation=/not/a/url.bak'],
    expect: {
      // The server refused the BACKUP outright and nothing before it changed the link: exit 1, and the summary says so.
      exit: 1,
      stdout: [/FAILED copy-only-backup: SQL error/, /Nothing was changed\./],
      // No demotion after a failed backup.
      armWrites: [],
      roles: BOTH_PRIMARY,
    },
  },
  {
    name: 'skipBackup=true: demoted without a backup, and the summary and journal say so',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance', 'skipBackup=true'],
    expect: {
      exit: 0,
      roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' },
      notSent: [/BACKUP/i],
      stdout: [/Attention:[\s\S]*backup-verified: Backup check on sqlServer SKIPPED on request/],
    },
    then(_t, run) {
      const finished = journalRecords(run.journalDir).find((r) => r.kind === 'step-finished' && r.step === 'backup-verified');
      assert.equal((finished?.outputs as Record<string, unknown>).skipped, true);
    },
  },
  {
    // The SET ROLE never reaches the server (the connection drops first), so the run stops after the
    // backup. With BACKUP LOG ... WITH NORECOVERY the database would now be RESTORING: unusable, and
    // neither side's fix done.
    name: 'keep=managedInstance, the demotion of SQL Server fails after its tail-log backup: its database stays ONLINE, not RESTORING',
    scenario: 'split-brain',
    overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: 'SET \\(ROLE = SECONDARY\\)', count: 5 }] },
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/SalesDb-tail.trn'],
    expect: { exit: 4, stdout: [/Changed: tail-log-backup/], roles: BOTH_PRIMARY },
    then(t) {
      assert.not.ok(t.lab.link().replicas.sqlServer.restoring, 'the database on SQL Server is not RESTORING');
      assert.ok(t.lab.link().readWrite('sqlServer'));
    },
  },
  {
    // The backup ran; its reply never came. The step's verify must recognise it by database, kind,
    // copy-only and start time: a managed instance leaves the URL out of msdb.
    name: "keep=sqlServer, the copy-only backup's answer is lost: msdb on the MI (no device path) shows it done, and the run goes on",
    scenario: 'split-brain',
    overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: '^BACKUP DATABASE', after: true }] },
    runbook: 'split-brain',
    set: [...SETS, 'keep=sqlServer', `backupLocation=${url}`],
    expect: {
      exit: 0,
      stdout: [/copy-only-backup[\s\S]*verified done/],
      // The BACKUP was not sent again.
      times: [[/^BACKUP/, 1]],
      roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' },
    },
  },
  {
    // Issue 10, point 8: the demoted side resumes by itself after 500 ms here (the healthy lab);
    // the run waits for it to move data again and says so. The old runbook did not look.
    name: 'keep=managedInstance: after the demotion the run waits until SQL Server moves data again',
    scenario: 'split-brain',
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance', 'skipBackup=true'],
    expect: { exit: 0, roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' }, stdout: [/ok\s+\d+\. demoted-resynchronized/] },
    then(t) {
      assert.is(t.lab.link().replicas.sqlServer.suspended, false);
    },
  },
  {
    // Issue 10, point 8: a demoted SQL Server that stays suspended (SUSPEND_FROM_PARTNER) gets no
    // data from the new primary. The run stops after the change (exit 4), says so and how to
    // resume it, and resumes nothing itself.
    name: 'split-brain-suspended, keep=managedInstance: SQL Server stays suspended; exit 4 naming ALTER DATABASE ... SET HADR RESUME, nothing resumed',
    scenario: 'split-brain-suspended',
    runbook: 'split-brain',
    set: [...SETS, 'keep=managedInstance', 'skipBackup=true', 'resyncTimeout=600ms'],
    expect: {
      exit: 4,
      roles: { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' },
      notSent: [/SET\s+HADR/i],
      stdout: [
        /FAILED demoted-resynchronized: Database SalesDb on SQL Server is still suspended \(SUSPEND_FROM_PARTNER\) after 600ms[^\n]*run on SQL Server: ALTER DATABASE \[SalesDb\] SET HADR RESUME; then check that it reports SYNCHRONIZING/,
      ],
    },
    then(t) {
      assert.is(t.lab.link().replicas.sqlServer.suspended, true, 'still suspended: the run resumed nothing');
    },
  },
  {
    name: 'split-brain-suspended, keep=sqlServer: the managed instance stays suspended; exit 4, a support case or a new link (no SET HADR there)',
    scenario: 'split-brain-suspended',
    runbook: 'split-brain',
    set: [...SETS, 'keep=sqlServer', 'skipBackup=true', 'resyncTimeout=600ms'],
    expect: {
      exit: 4,
      roles: { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' },
      armWrites: ['POST setRole'],
      stdout: [/FAILED demoted-resynchronized: Database SalesDb on the managed instance is still suspended \(SUSPEND_FROM_PARTNER\)[^\n]*does not support ALTER DATABASE \.\.\. SET HADR[^\n]*Open a support case, or remove the link and create it again from the primary/],
    },
  },
  {
    name: 'not a split-brain: refused, nothing changed',
    runbook: 'split-brain',
    set: [...SETS, 'keep=sqlServer', 'skipBackup=true'],
    expect: { exit: 3, stderr: [/refused at step is-split-brain: The link is not in split-brain/], sent: [] },
  },
]);

test.run();
