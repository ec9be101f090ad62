// assertBackup against the lab's msdb.dbo.backupset through the real mssql client: a backup is
// known by database, kind, copy-only and start time on the server's own clock (the managed
// instance leaves device paths empty and may keep another time zone), and an automatic log backup
// never stands in for a full one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StepRefusal } from '../../engine/core/errors.js';
import { ExitCode } from '../../engine/core/exit-codes.js';
import assertBackup from '../../steps/assertBackup.js';
import { rejection, withLabHarness } from '../helpers/steps.js';
import { stepTester, unknown } from '../helpers/step-tester.js';
import { connect, run } from '../helpers/lab.js';

stepTester.run(assertBackup, {
  valid: [
    { side: 'managedInstance', kind: 'full', copyOnly: false, reason: 'the first full backup must exist' },
    { side: 'sqlServer', kind: 'log', since: '{{run.started}}', skip: false },
    { side: 'managedInstance', kind: 'diff' },
    { side: 'managedInstance', kind: 'full', sinceServerTime: '2025-01-31T10:00:00.1234567', wait: '10m', pollInterval: '10s' },
    {
      with: { side: '{{otherSide inputs.keep}}', kind: "{{#if (eq inputs.keep 'sqlServer')}}full{{else}}log{{/if}}", skip: '{{inputs.skip}}' },
      inputs: { keep: { type: 'string', default: 'sqlServer' }, skip: { type: 'boolean', default: false } },
    },
  ],
  invalid: [
    { with: { side: 'primary', kind: 'full' }, errors: [{ code: 'bad-value', path: '/with/side', message: 'does not match' }] },
    { with: { side: 'sqlServer', kind: 'any' }, errors: [{ code: 'bad-value', path: '/with/kind' }] },
    { with: { side: 'sqlServer', kind: 'full', copyOnly: '{{inputs.c}}' }, errors: [{ code: 'undefined-variable', path: '/with/copyOnly' }] },
    { with: { side: 'sqlServer', kind: 'full', wait: 'a while' }, errors: [{ code: 'bad-duration', path: '/with/wait' }] },
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
      with: { side: 'sqlServer', kind: 'log', since: unknown('run.started'), skip: 'true' },
      summary: 'Check msdb.dbo.backupset on sqlServer for a log backup of [SalesDb] taken in this run',
      check: (p) => assert.match(p.guards![0]!, /^SKIPPED on request/),
    },
    {
      name: 'a server time known after apply, and the wait in the guard',
      with: { side: 'managedInstance', kind: 'full', copyOnly: false, sinceServerTime: unknown('steps.mi-clock.outputs.first.now'), wait: '30m', pollInterval: '10s' },
      summary: "Check msdb.dbo.backupset on managedInstance for a full backup (not copy-only) of [SalesDb] started since (known after apply) (managedInstance's clock)",
      guards: ['Needs that backup (waits up to 30m, reading every 10s)'],
    },
  ],
});

test("the MI's automatic full backup counts; none at all is refused with the reason", async () => {
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

test("msdb on the MI: automatic full, differential and log rows (is_copy_only = 0), no device paths; SQL Server's has its paths", async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { miBackups: { logEveryMs: 100, diffEveryMs: 60_000 } } }, async (lab, h) => {
    const mi = await connect(lab, 'managedInstance');
    const sqlServer = await connect(lab, 'sqlServer');
    try {
      await run(mi, "BACKUP DATABASE [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/SalesDb.bak' WITH COPY_ONLY");
      await run(sqlServer, "BACKUP LOG [SalesDb] TO DISK = N'/tmp/SalesDb.trn'");
      const query = `SELECT bs.type, bs.is_copy_only, mf.physical_device_name, bs.user_name
        FROM msdb.dbo.backupset bs JOIN msdb.dbo.backupmediafamily mf ON mf.media_set_id = bs.media_set_id ORDER BY bs.backup_set_id`;
      const rows = (await run(mi, query))[0]!;
      const kinds = new Set(rows.map((r) => `${r.type}${r.is_copy_only ? '/copy-only' : ''}`));
      assert.equal([...kinds].sort(), ['D', 'D/copy-only', 'I', 'L']);
      assert.ok(rows.every((r) => r.physical_device_name === null && r.user_name === null), JSON.stringify(rows));
      const onSql = (await run(sqlServer, query))[0]!;
      assert.equal(onSql.map((r) => r.physical_device_name), ['/tmp/SalesDb.trn']);
    } finally {
      await mi.close();
      await sqlServer.close();
    }
    // Refused on the MI (transact-sql-tsql-differences-sql-server.md, "Backup").
    const refused = await connect(lab, 'managedInstance');
    try {
      for (const sql of [
        "BACKUP LOG [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/l.trn'",
        "BACKUP DATABASE [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/x.bak'",
        "BACKUP DATABASE [SalesDb] TO DISK = N'/tmp/x.bak' WITH COPY_ONLY",
        "BACKUP DATABASE [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/x.bak' WITH COPY_ONLY, NORECOVERY",
      ]) {
        const err = await refused.request().batch(sql).then(() => undefined, (e: { number?: number }) => e);
        assert.ok(err && typeof err.number === 'number', `refused: ${sql}`);
      }
    } finally {
      await refused.close();
    }
    void h;
  });
});

test('the kind asked for: automatic log backups taken since do not satisfy a full-backup check, a copy-only full does not satisfy a regular one', async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { miBackups: { logEveryMs: 50 } } }, async (lab, h) => {
    const since = new Date().toISOString();
    // Log backups keep arriving on the MI after `since`...
    const logs = await h.run(assertBackup, { side: 'managedInstance', kind: 'log', copyOnly: false, since, wait: '3s', pollInterval: '50ms' });
    assert.is(logs.found, true);
    // ...and none of them is a full backup.
    const error = await rejection(() => h.run(assertBackup, { side: 'managedInstance', kind: 'full', since }));
    assert.instance(error, StepRefusal);
    assert.match(error.message, /^No full backup of database SalesDb on managedInstance started since .* \(server time\) \(the last one started .*\): take the backup, then run again\.$/);

    const mi = await connect(lab, 'managedInstance');
    try {
      await run(mi, "BACKUP DATABASE [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/SalesDb.bak' WITH COPY_ONLY");
    } finally {
      await mi.close();
    }
    assert.is((await h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: true, since })).found, true);
    // A manual (copy-only) backup is not the MI's automatic full backup.
    await rejection(() => h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: false, since }));
  });
});

test("the server's own clock: an MI two hours ahead of UTC, with since (this machine's clock) and sinceServerTime (the MI's)", async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { managedInstance: { utcOffsetMinutes: 120 }, miBackups: { logEveryMs: 0 } } }, async (lab, h) => {
    const mi = await connect(lab, 'managedInstance');
    try {
      const [[clock]] = (await run(mi, 'SELECT SYSDATETIME() AS local_now, SYSUTCDATETIME() AS utc_now')) as Array<Array<Record<string, Date>>>;
      const ahead = clock!.local_now.getTime() - clock!.utc_now.getTime();
      assert.ok(Math.abs(ahead - 7_200_000) < 5_000, `the MI's local time is two hours ahead (${ahead} ms)`);
      const since = new Date().toISOString();
      const sinceServerTime = clock!.local_now.toISOString();
      // Nothing yet: the automatic full backup is older, whatever the time zones.
      await rejection(() => h.run(assertBackup, { side: 'managedInstance', kind: 'full', since }));
      await rejection(() => h.run(assertBackup, { side: 'managedInstance', kind: 'full', sinceServerTime }));
      await run(mi, "BACKUP DATABASE [SalesDb] TO URL = N'https://lab.blob.core.windows.net/b/SalesDb.bak' WITH COPY_ONLY");
      assert.is((await h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: true, since })).found, true);
      const out = await h.run(assertBackup, { side: 'managedInstance', kind: 'full', copyOnly: true, sinceServerTime });
      assert.is(out.found, true);
      assert.ok(Date.parse(`${out.startedAt as string}Z`) >= Date.parse(sinceServerTime) - 1_000, `${String(out.startedAt)} is on the MI's clock`);
    } finally {
      await mi.close();
    }
  });
});

test("wait: the MI's first full backup after it became primary arrives later; waiting for it finds it, a single look does not", async () => {
  await withLabHarness({ scenario: 'healthy', overrides: { miFullBackup: { afterFailoverMs: 700 } } }, async (lab, h) => {
    const mi = await connect(lab, 'managedInstance');
    let sinceServerTime: string;
    try {
      const [[row]] = (await run(mi, 'SELECT SYSDATETIME() AS now')) as Array<Array<Record<string, Date>>>;
      sinceServerTime = row!.now.toISOString();
    } finally {
      await mi.close();
    }
    lab.link().forceFailover('managedInstance');
    const args = { side: 'managedInstance', kind: 'full', copyOnly: false, sinceServerTime } as const;
    await rejection(() => h.run(assertBackup, args));
    const out = await h.run(assertBackup, { ...args, wait: '5s', pollInterval: '100ms' });
    assert.is(out.found, true);
    assert.ok(h.logs.progress.some((m) => /yet; waiting \(up to 5s\)/.test(m)), h.logs.progress.join('\n'));
  });
});

test('skip: passes without reading, with a warning that says the backup was skipped', async () => {
  await withLabHarness({ scenario: 'split-brain' }, async (lab, h) => {
    const before = lab.statements().length;
    const out = await h.run(assertBackup, { side: 'sqlServer', kind: 'log', since: new Date().toISOString(), skip: 'true', reason: 'operator accepted the loss' });
    assert.equal(out, { found: false, skipped: true, startedAt: null, finishedAt: null, side: 'sqlServer' });
    assert.equal(h.logs.warn, ['Backup check on sqlServer SKIPPED on request (skip: true): operator accepted the loss.']);
    assert.is(lab.statements().length, before, 'nothing was sent');
  });
});

test('bad arguments: a side that is not a side, a kind that is not a kind, a since that is not a time', async () => {
  await withLabHarness({ scenario: 'healthy' }, async (_lab, h) => {
    assert.match((await rejection(() => h.run(assertBackup, { side: 'primary', kind: 'full' }))).message, /Expected side to be sqlServer or managedInstance/);
    assert.match((await rejection(() => h.run(assertBackup, { side: 'sqlServer', kind: 'toString' as 'full' }))).message, /Expected kind to be full, diff or log/);
    assert.match((await rejection(() => h.run(assertBackup, { side: 'sqlServer', kind: 'log', since: 'yesterday' }))).message, /The since value "yesterday" is not a time/);
    assert.match((await rejection(() => h.run(assertBackup, { side: 'sqlServer', kind: 'log', sinceServerTime: 'noon' }))).message, /The sinceServerTime value "noon" is not a time/);
  });
});

test.run();
