// assertBackup against the lab's msdb.dbo.backupset through the real mssql client.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import assertBackup from '../../steps/assertBackup.js';
import { rejection, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { connect } from '../helpers/lab.js';

stepTester.run(assertBackup, {
  valid: [
    { side: 'managedInstance', kind: 'full', copyOnly: false, reason: 'the first full backup must exist' },
    { side: 'sqlServer', kind: 'log', since: '{{run.started}}', skip: false },
    { with: { side: "{{otherSide inputs.keep}}", skip: '{{inputs.skip}}' }, inputs: { keep: { type: 'string', default: 'sqlServer' }, skip: { type: 'boolean', default: false } } },
  ],
  invalid: [
    { with: { side: 'primary' }, errors: [{ code: 'bad-value', path: '/with/side', message: 'does not match' }] },
    { with: { side: 'sqlServer', kind: 'diff' }, errors: [{ code: 'bad-enum', path: '/with/kind' }] },
    { with: { side: 'sqlServer', copyOnly: '{{inputs.c}}' }, errors: [{ code: 'undefined-variable', path: '/with/copyOnly' }] },
  ],
  plan: [
    {
      name: 'what is looked for, and the reason in the guard',
      with: { side: 'managedInstance', kind: 'full', copyOnly: false, reason: 'first full backup' },
      impact: 'read',
      summary: 'Check msdb.dbo.backupset on managedInstance for a full backup (not copy-only) of [SalesDb]',
      guards: ['Needs that backup: first full backup'],
    },
    {
      name: '"taken in this run" for {{run.started}}, and skip said loudly',
      with: { side: 'sqlServer', since: unknown('run.started'), skip: 'true' },
      summary: 'Check msdb.dbo.backupset on sqlServer for a backup of [SalesDb] taken in this run',
      check: (p) => assert.match(p.guards![0]!, /^SKIPPED on request/),
    },
  ],
});

test('the MI\'s automatic full backup counts; none at all is refused with the reason', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    const out = await h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: false });
    assert.is(out.found, true);
    assert.type(out.finishedAt, 'string');
  });
  await withLabHarness({ scenario: 'healthy', overrides: { miFullBackup: { enabled: false } } }, async (_lab, h) => {
    const error = await rejection(() => h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: false, reason: 'wait for the automatic backup.' }));
    assert.instance(error, StepRefusal);
    assert.is(error.exitCode, ExitCode.refused);
    assert.is(error.message, 'No full backup (not copy-only) of database SalesDb on managedInstance: wait for the automatic backup.');
  });
});

test('"since": an older backup does not count, one taken after it does (judged by the server\'s clock)', async () => {
  await withLabHarness({ scenario: 'split-brain' }, async (lab, h) => {
    // The MI's automatic full backup is an hour old: not "in this run".
    const since = new Date().toISOString();
    const error = await rejection(() => h.run(assertBackup, { side: 'managedInstance', since }));
    assert.instance(error, StepRefusal);
    assert.match(error.message, /^No backup of database SalesDb on managedInstance since .*\(the last one finished .*server time\): take the backup, then run again\.$/);
    // No backup at all on SQL Server yet.
    await rejection(() => h.run(assertBackup, { side: 'sqlServer', kind: 'log', since }));

    const pool = await connect(lab, 'sqlServer');
    try {
      await pool.request().batch("BACKUP LOG [SalesDb] TO DISK = N'/tmp/SalesDb-tail.trn' WITH NORECOVERY");
    } finally {
      await pool.close();
    }
    const out = await h.run(assertBackup, { side: 'sqlServer', kind: 'log', since });
    assert.is(out.found, true);
    // A copy-only full backup is not a log backup.
    await rejection(() => h.run(assertBackup, { side: 'sqlServer', kind: 'full', since }));
  });
});

test('skip: passes without reading, with a warning that says the backup was skipped', async () => {
  await withLabHarness({ scenario: 'split-brain' }, async (lab, h) => {
    const before = lab.statements().length;
    const out = await h.run(assertBackup, { side: 'sqlServer', since: new Date().toISOString(), skip: 'true', reason: 'operator accepted the loss' });
    assert.equal(out, { found: false, skipped: true, finishedAt: null, side: 'sqlServer' });
    assert.equal(h.logs.warn, ['Backup check on sqlServer SKIPPED on request (skip: true): operator accepted the loss.']);
    assert.is(lab.statements().length, before, 'nothing was sent');
  });
});

test('bad arguments: a side that is not a side, a since that is not a time', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    assert.match((await rejection(() => h.run(assertBackup, { side: 'primary' }))).message, /Expected side to be sqlServer or managedInstance/);
    assert.match((await rejection(() => h.run(assertBackup, { side: 'sqlServer', since: 'yesterday' }))).message, /The since value "yesterday" is not a time/);
  });
});

test.run();
