// Which tables the lab reloads after a change: a login, an app lock or a backup changes one
// table's rows (sys.dm_exec_connections, sys.dm_tran_locks, msdb), not the HADR views, so a
// query of the HADR views after it reloads nothing (on a fleet's server every HADR view holds
// every link's rows: reloading them on each login made the lab's cost grow with the fleet).
// What changed is still seen at once by the query that reads it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startLab, type Lab } from '../../lab/index.js';
import { connect, run } from '../helpers/lab.js';

let lab: Lab;
/** The tables each reload asked the model for, in order. */
const asked: string[][] = [];
test.before(async () => {
  // No automatic MI backups: none lands between two statements of a test on its own.
  lab = await startLab({ overrides: { miBackups: { logEveryMs: 0, diffEveryMs: 0 } } });
  // A table is reloaded when the engine builds one of its parts' rows (lab/sql/catalog.ts).
  const tableParts = lab.model.tableParts.bind(lab.model);
  lab.model.tableParts = (indexes, side, table) =>
    tableParts(indexes, side, table).map((part) => ({
      ...part,
      rows: () => {
        if (side === 'sqlServer') asked.push([table]);
        return part.rows();
      },
    }));
});
test.after(async () => {
  await lab.stop();
});

const HADR = 'SELECT COUNT(*) AS n FROM sys.dm_hadr_database_replica_states';

test('a login, an app lock and a backup reload only their own tables; each is seen by the next query that reads it', async () => {
  const first = await connect(lab, 'sqlServer');
  try {
    await run(first, HADR);
    await run(first, 'SELECT COUNT(*) AS n FROM sys.dm_exec_connections');
    await run(first, 'SELECT COUNT(*) AS n FROM sys.dm_tran_locks');
    await run(first, 'SELECT COUNT(*) AS n FROM msdb.dbo.backupset');
    asked.length = 0;

    const second = await connect(lab, 'sqlServer');
    try {
      await run(second, HADR);
      assert.equal(asked, [], 'a login reloads none of the HADR views or sys.databases');
      const [[connections]] = await run(second, 'SELECT COUNT(*) AS n FROM sys.dm_exec_connections');
      assert.is(connections.n, 2, 'the new session is shown');
      assert.equal(asked, [['sys.dm_exec_connections']]);

      asked.length = 0;
      await run(second, `DECLARE @r int; EXEC @r = sp_getapplock @Resource = N'lab_versions', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0`);
      await run(second, HADR);
      const [[locks]] = await run(second, 'SELECT COUNT(*) AS n FROM sys.dm_tran_locks');
      assert.is(locks.n, 1, 'the lock is shown');
      assert.equal(asked, [['sys.dm_tran_locks']]);

      asked.length = 0;
      await run(second, `BACKUP DATABASE [SalesDb] TO URL = N'https://acct.blob.core.windows.net/c/lab_versions.bak' WITH COPY_ONLY`);
      await run(second, HADR);
      const [[backups]] = await run(second, 'SELECT COUNT(*) AS n FROM msdb.dbo.backupset');
      assert.ok(Number(backups.n) >= 1, 'the backup is shown');
      assert.equal(asked, [['msdb.dbo.backupset']]);
    } finally {
      await second.close();
    }
  } finally {
    await first.close();
  }
});

test('a change of the link reloads the HADR views', async () => {
  const pool = await connect(lab, 'sqlServer');
  try {
    await run(pool, HADR);
    asked.length = 0;
    lab.model.bump();
    await run(pool, HADR);
    assert.ok(asked.flat().includes('sys.dm_hadr_database_replica_states'), JSON.stringify(asked));
  } finally {
    await pool.close();
  }
});

test("a fleet's server: a change of one link reloads only that link's rows of the HADR views, not every link's", async () => {
  const fleet = await startLab({ fleet: true, links: 3, overrides: { miBackups: { logEveryMs: 0, diffEveryMs: 0 } } });
  const built: string[] = [];
  const tableParts = fleet.model.tableParts.bind(fleet.model);
  fleet.model.tableParts = (indexes, side, table) =>
    tableParts(indexes, side, table).map((part) => ({
      ...part,
      rows: () => {
        if (side === 'sqlServer' && table === 'sys.dm_hadr_database_replica_states') built.push(part.key);
        return part.rows();
      },
    }));
  const pool = await connect(fleet, 'sqlServer');
  try {
    const [[all]] = await run(pool, HADR);
    assert.equal(built.sort(), ['0', '1', '2'], 'each link once');
    built.length = 0;
    await run(pool, `ALTER AVAILABILITY GROUP [dag2] MODIFY AVAILABILITY GROUP ON 'ag2' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT), 'sqlmi1' WITH (AVAILABILITY_MODE = SYNCHRONOUS_COMMIT)`);
    const [[again]] = await run(pool, HADR);
    assert.equal(built, ['1'], 'only dag2, the link that changed');
    assert.equal(again, all, 'every link still shown');
    const [[modes]] = await run(pool, "SELECT COUNT(*) AS n FROM sys.availability_replicas ar JOIN sys.availability_groups ag ON ag.group_id = ar.group_id WHERE ag.name = N'dag2' AND ar.availability_mode_desc = 'SYNCHRONOUS_COMMIT'");
    assert.ok(Number(modes.n) > 0, "dag2's change is seen");
  } finally {
    await pool.close();
    await fleet.stop();
  }
});

test.run();
