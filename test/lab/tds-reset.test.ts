// The lab honours the TDS header's RESETCONNECTION (MS-TDS 2.2.3.1.2: "clean up the environment
// state of the connection back to the default environment setting, effectively simulating a
// logout and a subsequent login"), which tedious's Connection.reset() sends: a wave's shared
// sessions rely on it (engine/drivers/sql/server-sessions.ts), so the lab must not let state
// through that a real server would clear.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, run, withStartedLab } from '../helpers/lab.js';

interface RawConnection {
  reset(callback: (error?: Error) => void): void;
  once(event: 'resetConnection', listener: () => void): void;
}

test('a reset puts the session back in its login database, lets its session app locks go, keeps its id, and is acknowledged; no new login', async () => {
  await withStartedLab({}, async (lab) => {
    const database = lab.inventories[0]!.link.database;
    const pool = await connect(lab, 'sqlServer', { appName: 'reset-test' });
    try {
      const [[before]] = await run(pool, `USE [${database}];
DECLARE @r int;
EXEC @r = sp_getapplock @Resource = N'reset-test', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT DB_NAME() AS db, @@SPID AS spid, @r AS granted;`) as unknown as [[Record<string, unknown>]];
      assert.equal([before!.db, before!.granted], [database, 0]);
      assert.ok(lab.model.applocks.rows().some((r) => r.resource === 'reset-test'), 'the lock is held before the reset');
      const logins = lab.logins().sql01;
      const connection = (await (pool as unknown as { acquire(r: unknown): Promise<RawConnection> }).acquire(pool)) as RawConnection;
      let acknowledged = false;
      connection.once('resetConnection', () => void (acknowledged = true));
      await new Promise<void>((resolve, reject) => connection.reset((error) => (error ? reject(error) : resolve())));
      (pool as unknown as { release(c: unknown): void }).release(connection);
      assert.ok(acknowledged, 'the reply carried ENVCHANGE 18 (reset acknowledged)');
      const [[after]] = await run(pool, 'SELECT DB_NAME() AS db, @@SPID AS spid;') as unknown as [[Record<string, unknown>]];
      assert.equal(after, { db: 'master', spid: before!.spid });
      assert.not.ok(lab.model.applocks.rows().some((r) => r.resource === 'reset-test'), 'the session-owned lock went with the reset');
      assert.is(lab.logins().sql01, logins, 'a reset is not a login');
    } finally {
      await pool.close();
    }
  });
});

test.run();
