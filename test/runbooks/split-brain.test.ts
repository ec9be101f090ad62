// split-brain.yml end to end on the lab: for each value of keep, the demoted side is backed up
// first (statement order), one primary remains, and no demotion happens without a backup.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestLab } from '../helpers/lab-run.js';

const SETS = ['stableFor=300ms', 'pollInterval=50ms'];
const isChange = (s: string) => /^\w+: (ALTER|BACKUP|DROP)\b/i.test(s);

function journalRecords(dir: string): Array<Record<string, unknown>> {
  const file = readdirSync(dir).find((f) => f.endsWith('.jsonl'))!;
  return readFileSync(join(dir, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('keep=managedInstance: tail-log backup on SQL Server, then SQL Server demoted; MI the one primary', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/SalesDb-tail.trn'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    assert.equal(t.statements().filter(isChange), [
      // No WITH NORECOVERY: undocumented on an availability database, and the demotion follows.
      "sqlServer: BACKUP LOG [SalesDb] TO DISK = N'/var/opt/mssql/backup/SalesDb-tail.trn'",
      'sqlServer: ALTER AVAILABILITY GROUP [dag1] SET (ROLE = SECONDARY)',
    ]);
    const backups = t.lab.link().backups.filter((b) => b.side === 'sqlServer');
    assert.equal(backups.map((b) => b.type), ['L']);
    assert.match(run.stdout, /failover\s+sqlExec \[change\]\s+when: .* -> false/, 'no planned failover was needed');
    assert.match(run.stdout, /Point the applications at sqlmi1\.lab\.database\.windows\.net/);
    assert.equal(t.linkPresent(), { sqlServer: true, managedInstance: true });
  } finally {
    await t.stop();
  }
});

test('keep=sqlServer: copy-only backup on MI, then MI demoted through ARM setRole; SQL Server the one primary', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const url = 'https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak';
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=sqlServer', `backupLocation=${url}`] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
    assert.equal(t.statements().filter(isChange), [`managedInstance: BACKUP DATABASE [SalesDb] TO URL = N'${url}' WITH COPY_ONLY`]);
    const backup = t.lab.link().backups.find((b) => b.side === 'managedInstance' && b.isCopyOnly);
    assert.ok(backup, 'copy-only backup recorded on the MI');
    const setRole = t.lab.armRequests().filter((r) => /setRole/i.test(r.path) && r.method === 'POST');
    assert.is(setRole.length, 1, 'MI demoted through ARM');
    assert.ok(setRole[0].at.getTime() >= backup!.finish.getTime(), 'backup finished before the demotion was asked for');
    assert.match(run.stdout, /Point the applications at localhost,\d+ \(SQL Server sql01/);
  } finally {
    await t.stop();
  }
});

test('no backup location and no skipBackup: refused before anything is changed', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=managedInstance'] });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step backup-location-given: Say where the backup of sqlServer goes/);
    assert.not.ok(t.statements().some(isChange));
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
  } finally {
    await t.stop();
  }
});

test('the backup fails: the run stops there and nothing is demoted', async () => {
  // (assertBackup's own refusal, when msdb shows no backup from this run, is tested in test/steps/assertBackup.test.ts.)
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=sqlServer', 'backupLocation=/not/a/url.bak'] });
    // The server refused the BACKUP outright and nothing before it changed the link: exit 1, and the summary says so.
    assert.is(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /FAILED copy-only-backup: SQL error/);
    assert.match(run.stdout, /Nothing was changed\./);
    assert.not.ok(t.lab.armRequests().some((r) => /setRole/i.test(r.path)), 'no demotion after a failed backup');
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
  } finally {
    await t.stop();
  }
});

test('skipBackup=true: demoted without a backup, and the summary and journal say so', async () => {
  const t = await TestLab.start({ scenario: 'split-brain' });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=managedInstance', 'skipBackup=true'] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.equal(t.roles(), { sqlServer: 'SECONDARY', managedInstance: 'PRIMARY' });
    assert.not.ok(t.statements().some((s) => /BACKUP/i.test(s)));
    assert.match(run.stdout, /Attention:[\s\S]*backup-verified: Backup check on sqlServer SKIPPED on request/);
    const finished = journalRecords(run.journalDir).find((r) => r.kind === 'step-finished' && r.step === 'backup-verified');
    assert.equal((finished?.outputs as Record<string, unknown>).skipped, true);
  } finally {
    await t.stop();
  }
});

test('keep=managedInstance, the demotion of SQL Server fails after its tail-log backup: its database stays ONLINE, not RESTORING', async () => {
  // The SET ROLE never reaches the server (the connection drops first), so the run stops after the
  // backup. With BACKUP LOG ... WITH NORECOVERY the database would now be RESTORING: unusable, and
  // neither side's fix done.
  const t = await TestLab.start({
    scenario: 'split-brain',
    overrides: { faults: [{ kind: 'dropConnection', replica: 'sqlServer', match: 'SET \\(ROLE = SECONDARY\\)', count: 5 }] },
  });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=managedInstance', 'backupLocation=/var/opt/mssql/backup/SalesDb-tail.trn'] });
    assert.is(run.code, 4, run.stdout + run.stderr);
    assert.match(run.stdout, /Changed: tail-log-backup/);
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'PRIMARY' });
    assert.not.ok(t.lab.link().replicas.sqlServer.restoring, 'the database on SQL Server is not RESTORING');
    assert.ok(t.lab.link().readWrite('sqlServer'));
  } finally {
    await t.stop();
  }
});

test("keep=sqlServer, the copy-only backup's answer is lost: msdb on the MI (no device path) shows it done, and the run goes on", async () => {
  // The backup ran; its reply never came. The step's verify must recognise it by database, kind,
  // copy-only and start time: a managed instance leaves the URL out of msdb.
  const t = await TestLab.start({
    scenario: 'split-brain',
    overrides: { faults: [{ kind: 'dropConnection', replica: 'managedInstance', match: '^BACKUP DATABASE', after: true }] },
  });
  try {
    const url = 'https://labbackups.blob.core.windows.net/splitbrain/SalesDb.bak';
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=sqlServer', `backupLocation=${url}`] });
    assert.is(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /copy-only-backup[\s\S]*verified done/);
    assert.equal(t.statements().filter((s) => /^managedInstance: BACKUP/.test(s)).length, 1, 'the BACKUP was not sent again');
    assert.equal(t.roles(), { sqlServer: 'PRIMARY', managedInstance: 'SECONDARY' });
  } finally {
    await t.stop();
  }
});

test('not a split-brain: refused, nothing changed', async () => {
  const t = await TestLab.start({ scenario: 'healthy' });
  try {
    const run = await t.apply('split-brain', { sets: [...SETS, 'keep=sqlServer', 'skipBackup=true'] });
    assert.is(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stderr, /refused at step is-split-brain: The link is not in split-brain/);
    assert.not.ok(t.statements().some(isChange));
  } finally {
    await t.stop();
  }
});

test.run();
